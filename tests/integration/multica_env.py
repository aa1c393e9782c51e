"""Two CAs for the multi-CA tests (test_multica.py): the FleetEnv's Pebble
behind ca_proxy as CA "a" (its proxy counts the orders A saw and plays an
outage on demand), and a second Pebble as CA "b", each with its own root
(Pebble makes a new one at every start) and its own CAA identity.  Both
validate DNS-01 through the same resolver as the fleet."""
import os

import ca_proxy as ca_proxy_mod
import harness
import lifecycle_env as L
import pebble_env
from fleet_env import FAST_TIMERS, FleetEnv

CAA_A = "pebble-a.test"
CAA_B = "pebble-b.test"


class MultiCA:
    """ENV (a FleetEnv with ca_proxy) and the second Pebble B, the config
    listing acme.cas a then b, both accounts registered, WORKERS started."""

    def __init__(self, tmp, workers=1, zones=4, config=None, b_eab=None):
        """B_EAB ({kid: hmac}): B requires External Account Binding with
        those keys, and is behind a ca_proxy of its own too (self.b_ca:
        the accounts that signed its orders)."""
        self.env = FleetEnv(tmp, zones=zones, ca_proxy=True)
        self.b = self.b_ca = None
        try:
            bdir = os.path.join(tmp, "pebble-b")
            os.makedirs(bdir, exist_ok=True)
            self.b = pebble_env.Pebble(bdir, dnsserver=f"127.0.0.1:{self.env.ca_r.port}",
                                       eab=bool(b_eab), eab_keys=b_eab)
            if b_eab:
                self.b_ca = ca_proxy_mod.CAProxy(self.b, bdir)
            cfg = dict(FAST_TIMERS)
            cfg.update({
                # one CA's keys are each CA's now
                "acme.caa_identities": None, "acme.directory": None, "acme.ca_bundle": None,
                "acme.cas.a.directory": self.env.ca.directory,
                "acme.cas.a.ca_bundle": self.env.pebble.ca,
                "acme.cas.a.caa_identities": [CAA_A],
                "acme.cas.b.directory": (self.b_ca or self.b).directory,
                "acme.cas.b.ca_bundle": self.b.ca,
                "acme.cas.b.caa_identities": [CAA_B],
                # each CA's own bucket, quick enough that the one token
                # left after an outage's block does not send orders on
                "acme.cas.a.ratelimit.new_orders.limit": 100,
                "acme.cas.a.ratelimit.new_orders.period_ms": 1000,
                "acme.cas.b.ratelimit.new_orders.limit": 100,
                "acme.cas.b.ratelimit.new_orders.period_ms": 1000,
                # test_tenant_pinned_to_b: the tenant t-b's domains go to
                # b only (no fallback)
                "acme.tenants.t-b.cas": ["b"],
                "acme.ca_health.failures": 2,
                "acme.ca_health.reprobe_ms": 1500,
                "stages.create-order.backoff_cap_ms": 1000,
            })
            cfg.update(config or {})
            for k, v in cfg.items():
                if v is None:
                    self.env.base_config.pop(k, None)
                else:
                    self.env.base_config[k] = v
            self.env.write_config()
            for ca in ("a", "b"):
                self.env.ctl("account", "register", "--ca", ca, "--email", "ops@example.com")
            self.nworkers = workers
            self.metrics_port = harness.free_port()
            self.start_workers()
        except BaseException:
            self.close()
            raise
        self._roots = {}

    def start_workers(self):
        """The workers, on the configuration as it is now; the first
        serves /metrics (the others none: one port)."""
        for i in range(self.nworkers):
            over = {"metrics.port": self.metrics_port if i == 0 else 0,
                    "metrics.address": "127.0.0.1"}
            self.env.start_worker(config=self.env.write_config(
                over, path=os.path.join(self.env.tmp, f"dcv-{i}.yaml")))

    def root(self, ca):
        if ca not in self._roots:
            self._roots[ca] = (self.env.pebble if ca == "a" else self.b).root_pem()
        return self._roots[ca]

    def health(self, ca):
        return self.env._dec(self.env.client().hgetall(f"{self.env.prefix}:ca:{ca}"))

    def verify(self, domain):
        """The domain's certificate verifies against the root of the CA
        that issued it (the record's issued_ca), and not against the
        other's.  Returns that CA's name."""
        rec = self.env.domain(domain)
        ca = rec.get("issued_ca")
        assert ca in ("a", "b"), f"{domain}: issued_ca {ca!r} in {rec}"
        chain = self.env.cert(domain)["chain"]
        env = self.env
        saved = env._root
        try:
            env._root = self.root(ca)
            env.verify_cert(chain, [domain])
            env._root = self.root("b" if ca == "a" else "a")
            try:
                env.verify_cert(chain, [domain])
            except AssertionError:
                pass
            else:
                raise AssertionError(f"{domain}: verifies against both roots")
        finally:
            env._root = saved
        return ca

    def onboard(self, names):
        L.customers_ready(self.env, names)
        L.xadd_onboard(self.env, names)

    def close(self):
        try:
            self.env.close()
        finally:
            if self.b_ca is not None:
                self.b_ca.stop()
            if self.b is not None:
                self.b.stop()
