{
  "targets": [
    {
      "target_name": "homeward_tun",
      "sources": [
        "src/tun.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NAPI_VERSION=8"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-Wall",
        "-Wextra"
      ]
    },
    {
      "target_name": "raw_socket",
      "sources": [
        "src/raw_socket.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NAPI_VERSION=8"
      ],
      "cflags_cc": [
        "-std=c++17"
      ]
    },
    {
      "target_name": "homeward_dataplane",
      "sources": [
        "src/dataplane.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NAPI_VERSION=8"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-Wall",
        "-Wextra",
        "-O2"
      ],
      "cflags_cc!": [
        "-fno-exceptions"
      ],
      "ldflags": [
        "-pthread"
      ]
    },
    {
      "target_name": "ha_forward",
      "sources": [
        "src/ha_forward.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": [
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NAPI_VERSION=8"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-Wall",
        "-Wextra",
        "-O2"
      ],
      "ldflags": [
        "-pthread"
      ]
    }
  ]
}
