"""ESP oracle for esp-scapy.test.ts: scapy's SecurityAssociation decrypts
our packets and encrypts its own for us. Reads one JSON job on argv[1],
prints one JSON answer. Runs with Debian's python3-scapy."""
import json
import sys

from scapy.layers.inet import IP
from scapy.layers.ipsec import ESP, SecurityAssociation

job = json.loads(sys.argv[1])
algo = {'aes-gcm': 'AES-GCM', 'chacha': 'CHACHA20-POLY1305'}[job['alg']]
outer = IP(src='198.51.100.1', dst='203.0.113.1')
sa = SecurityAssociation(ESP, spi=job['spi'], crypt_algo=algo, crypt_key=bytes.fromhex(job['keymat']),
                         auth_algo='NULL', tunnel_header=outer)
answer = {'decrypted': []}
for hexpkt in job['ours']:
    pkt = IP(src='198.51.100.1', dst='203.0.113.1', proto=50) / bytes.fromhex(hexpkt)
    inner = sa.decrypt(IP(bytes(pkt)))
    answer['decrypted'].append(bytes(inner).hex())
enc = sa.encrypt(IP(bytes.fromhex(job['inner'])), seq_num=job['seq'], iv=bytes.fromhex(job['iv']))
answer['theirs'] = bytes(enc[ESP]).hex()
print(json.dumps(answer))
