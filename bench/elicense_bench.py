"""Licence verification throughput on one core: complete verify_response calls per second.

Each call parses the JWS, finds the certification path (memoised after the first call for a
licence), checks revocation of the licence and its issuing CA from the cached CRLs, verifies
the JWS signature and checks the payload.  Run: ``.venv/bin/python bench/elicense_bench.py``.
Targets (issue 5): >= 1,000/s ES256, >= 500/s SM2.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from idp.elicense import (  # noqa: E402
    CrlProvider,
    LicenceVerifier,
    authority,  # noqa: E402
)
from idp.elicense.holder import load_licence, make_jws  # noqa: E402

AUD = "https://idp.example"
TARGETS = {"ES256": 1000, "SM2": 500}


def _tokens(out: Path, count: int) -> list[tuple[str, str, str]]:
    key, chain = load_licence(out / "licence.crt.pem", out / "licence.key.pem", out / "chain.pem")
    now = int(time.time())
    result = []
    for i in range(count):  # distinct challenges and nonces: nothing but the path is reused
        challenge, nonce = f"challenge-{i}", f"nonce-{i}"
        result.append((make_jws({"challenge": challenge, "nonce": nonce, "aud": AUD, "iat": now},
                                key, chain), challenge, nonce))
    return result


def _rate(verifier: LicenceVerifier, tokens, seconds: float) -> float:
    done, start = 0, time.perf_counter()
    while True:
        for token, challenge, nonce in tokens:
            verifier.verify_response(token, expected_challenge=challenge, expected_nonce=nonce,
                                     expected_aud=AUD)
            done += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per case")
    parser.add_argument("--tokens", type=int, default=500, help="distinct responses per case")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        keys_dir = Path(tmp) / "keys"
        for alg, sm2 in (("ES256", False), ("SM2", True)):
            authority.init_authority(keys_dir, sm2=sm2)
            out = Path(tmp) / alg
            authority.issue_licence(keys_dir, uscc="91350100M000100Y43", name="Bench Co", legal_rep="Rep",
                                    sm2=sm2, out_dir=out)
            tokens = _tokens(out, args.tokens)
            warm = LicenceVerifier.from_keys_dir(keys_dir, crl_provider=CrlProvider())
            cached = _rate(warm, tokens, args.seconds)
            cold = LicenceVerifier.from_keys_dir(keys_dir, crl_provider=CrlProvider(), cache_size=0)
            uncached = _rate(cold, tokens, min(args.seconds, 2.0))
            target = TARGETS[alg]
            ok &= cached >= target
            print(f"{alg:6s} {cached:8.0f} verifications/s with the path cache "
                  f"({uncached:6.0f}/s without)  target >= {target}/s: {'ok' if cached >= target else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
