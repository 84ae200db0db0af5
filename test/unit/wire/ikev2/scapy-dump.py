# Independent decoder for scapy-crosscheck.test.ts: parses an IKEv2 message
# (hex in argv[1]) with scapy.contrib.ikev2 and prints what it saw as JSON.
import json
import sys

from scapy.contrib.ikev2 import IKEv2
from scapy.packet import NoPayload, Raw, Padding


def raw_field(pkt, name):
    v = pkt.getfieldval(name)
    return (v if isinstance(v, bytes) else bytes(v)).hex()


def transforms(prop):
    out = []
    t = prop.trans
    while t is not None and not isinstance(t, (NoPayload, Raw, Padding)):
        out.append([int(t.transform_type), int(t.transform_id), getattr(t, 'key_length', None)])
        t = t.payload
    return out


def proposals(sa):
    out = []
    p = sa.prop
    while p is not None and not isinstance(p, (NoPayload, Raw, Padding)):
        out.append({'num': int(p.proposal), 'proto': int(p.proto), 'transforms': transforms(p)})
        p = p.payload
    return out


pkt = IKEv2(bytes.fromhex(sys.argv[1]))
res = {
    'spiI': raw_field(pkt, 'init_SPI'), 'spiR': raw_field(pkt, 'resp_SPI'),
    'nextPayload': int(pkt.next_payload), 'exchangeType': int(pkt.exch_type), 'flags': int(pkt.flags),
    'messageId': int(pkt.id), 'length': int(pkt.length), 'payloads': [], 'leftover': False,
}
layer = pkt.payload
while not isinstance(layer, NoPayload):
    if isinstance(layer, (Raw, Padding)):
        res['leftover'] = True
        break
    entry = {'name': layer.name, 'next': int(layer.next_payload), 'length': int(layer.length)}
    if layer.name == 'IKEv2 SA':
        entry['proposals'] = proposals(layer)
    if layer.name == 'IKEv2 Notify':
        entry['notifyType'] = int(layer.type)
    if layer.name == 'IKEv2 Key Exchange':
        entry['group'] = int(layer.group)
    res['payloads'].append(entry)
    layer = layer.payload
print(json.dumps(res))
