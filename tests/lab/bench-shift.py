#!/usr/bin/env python3
"""bench-shift.py — how fast a promote reaches every region's routing objects,
pod labels and status, per mesh backend, in the lab (docs/mesh.md).

    tests/lab/bench-shift.py [--repeat N] [--db NS/NAME]
                             [--mesh none,istio,cilium,mcs] [--out FILE]
    make bench-shift [REPEAT=N]

Needs the lab up with batond and its example database (make lab). It
installs the upstream Istio and MCS CRDs in every region (as test_mesh.sh
does), then for each backend sets spec.traffic.mesh on every region's copy
of the DatabaseCluster, waits until every region reports TrafficRouted, and
runs N planned switchovers (batonctl switchover, to the next region). For
each one it reads every region's status.lastFailover: when that region
applied the promote (appliedAt, wall clock with microseconds) and how long
after it each step took there (stepsMillis: labelled, routed, serving). All
regions of the lab share one clock, so times compare across regions. A
watch on every region's DatabaseCluster gives the moment its status names
the new primary at the new epoch.

Measured from t0, the earliest region to apply the promote (the Raft
leader, right after the commit):
  routed     the last region's routing objects (primary Service selector,
             VirtualService, Cilium annotations, ServiceExport, pruning) all
             as desired for the new primary
  labelled   the new primary's pod labelled role=primary at the new epoch
  status     the last region's status names the new primary and epoch
  serving    the last region sees the new primary's endpoint published
             (includes PostgreSQL's promotion)

After every switchover it also checks, from outside, that every cluster's
routing objects send traffic to the new primary (the selector's epoch; the
VirtualService subset; the Cilium shared/affinity annotations; which
cluster exports). A failed check, a refused or timed-out switchover, or a
missing step fails the run (exit 1); usage errors exit 2. It puts
spec.traffic back as it found it at the end. Prints p50 and max per
backend and writes the samples as JSON (--out).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB = os.environ.get("BATON_LAB_DIR", os.path.join(TOP, "tests/lab/run"))
BUILD = os.environ.get("BATON_BUILD", "build/plain")
if not os.path.isabs(BUILD):
    BUILD = os.path.join(TOP, BUILD)
BATONCTL = os.environ.get("BATONCTL", os.path.join(BUILD, "bin/batonctl"))
BIN = os.path.join(TOP, "tests/env/bin")
KUBECTL = os.path.join(BIN, "kubectl")
CRDS = [os.path.join(BIN, "istio-crds.yaml"),
        os.path.join(BIN, "multicluster.x-k8s.io_serviceexports.yaml"),
        os.path.join(BIN, "multicluster.x-k8s.io_serviceimports.yaml")]
MESHES = ["none", "istio", "cilium", "mcs"]


def log(msg):
    print("[bench-shift %s] %s" % (time.strftime("%H:%M:%S", time.gmtime()),
                                   msg), file=sys.stderr, flush=True)


class Failed(Exception):
    pass


def kc(region, *args, check=True, timeout=30):
    cmd = [KUBECTL, "--kubeconfig",
           os.path.join(LAB, "regions", region, "admin.kubeconfig"),
           "--request-timeout=10s"] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise Failed("%s: kubectl %s: %s" % (region, " ".join(args),
                                             p.stderr.strip()))
    return p.stdout


def kc_json(region, *args):
    return json.loads(kc(region, *args, "-o", "json"))


def parse_ms(ts):
    """RFC 3339 with optional fraction, UTC, to epoch milliseconds."""
    import calendar
    base, _, frac = ts.rstrip("Z").partition(".")
    secs = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return secs * 1000 + (int((frac + "000")[:3]) if frac else 0)


class Watch(threading.Thread):
    """Every event of one DatabaseCluster in one region, with arrival time."""

    def __init__(self, region, ns, name):
        super().__init__(daemon=True)
        self.region = region
        self.events = []
        self.lock = threading.Lock()
        path = ("/apis/baton.dev/v1alpha1/namespaces/%s/databaseclusters"
                "?watch=true&fieldSelector=metadata.name%%3D%s" % (ns, name))
        self.proc = subprocess.Popen(
            [KUBECTL, "--kubeconfig",
             os.path.join(LAB, "regions", region, "admin.kubeconfig"),
             "get", "--raw", path],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def run(self):
        for line in self.proc.stdout:
            t = time.time() * 1000
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self.lock:
                self.events.append((t, ev.get("object", {})))

    def first(self, pred):
        with self.lock:
            for t, obj in self.events:
                if pred(obj):
                    return t
        return None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def wait_until(what, timeout, fn, interval=0.2):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            last = fn()
            if last is True:
                return
        except (Failed, subprocess.TimeoutExpired, ValueError) as e:
            last = str(e)
        time.sleep(interval)
    raise Failed("%s: not within %d s (last: %s)" % (what, timeout, last))


def cond(obj, ctype):
    for c in obj.get("status", {}).get("conditions", []):
        if c.get("type") == ctype:
            return c
    return {}


def fleet_agrees(regions, ns, name, primary=None):
    """True when every region's status is Healthy and names one primary."""
    seen = set()
    for r in regions:
        st = kc_json(r, "-n", ns, "get", "dbc", name).get("status", {})
        if st.get("phase") != "Healthy":
            return "%s: phase %s" % (r, st.get("phase"))
        seen.add((st.get("primaryRegion"), st.get("epoch")))
    if len(seen) != 1:
        return "regions disagree: %s" % sorted(map(str, seen))
    p, _ = seen.pop()
    if primary is not None and p != primary:
        return "primary is %s, not %s" % (p, primary)
    return True


def check_routing(regions, ns, name, svc, mesh, primary, epoch):
    """Every cluster's routing objects send new connections to PRIMARY."""
    problems = []
    for r in regions:
        s = kc_json(r, "-n", ns, "get", "service", svc)
        sel = s["spec"].get("selector", {})
        if sel.get("baton.dev/epoch") != str(epoch):
            problems.append("%s: %s selects epoch %s" %
                            (r, svc, sel.get("baton.dev/epoch")))
        if mesh == "istio":
            vs = kc_json(r, "-n", ns, "get",
                         "virtualservices.networking.istio.io", svc)
            subs = [d["destination"].get("subset")
                    for t in vs["spec"].get("tcp", [])
                    for d in t.get("route", [])]
            if subs != [primary]:
                problems.append("%s: VirtualService routes to %s" %
                                (r, subs))
        elif mesh == "cilium":
            ann = s["metadata"].get("annotations", {})
            want = ("true", "local") if r == primary else ("false", "remote")
            got = (ann.get("service.cilium.io/shared"),
                   ann.get("service.cilium.io/affinity"))
            if got != want or ann.get("service.cilium.io/global") != "true":
                problems.append("%s: cilium annotations %s" % (r, ann))
        elif mesh == "mcs":
            out = kc(r, "-n", ns, "get",
                     "serviceexports.multicluster.x-k8s.io", "-o",
                     "jsonpath={.items[*].metadata.name}",
                     "-l", "baton.dev/cluster=%s" % name)
            want = [svc] if r == primary else []
            if out.split() != want:
                problems.append("%s: ServiceExports %s" % (r, out.split()))
    if problems:
        raise Failed("routing not as desired after the switchover to %s at "
                     "epoch %s: %s" % (primary, epoch, "; ".join(problems)))


def set_traffic(regions, ns, name, traffic):
    patch = json.dumps({"spec": {"traffic": traffic}})
    for r in regions:
        kc(r, "-n", ns, "patch", "dbc", name, "--type", "merge", "-p", patch)


def one_switchover(regions, ns, name, svc, mesh, target):
    watches = [Watch(r, ns, name) for r in regions]
    for w in watches:
        w.start()
    try:
        before = kc_json(regions[0], "-n", ns, "get", "dbc", name)
        old_epoch = before["status"].get("epoch", 0)
        time.sleep(0.5)  # the watches are connected
        p = subprocess.run([BATONCTL, "switchover", "%s/%s" % (ns, name),
                            target, "--wait", "120s"],
                           capture_output=True, text=True, timeout=180)
        if p.returncode != 0:
            raise Failed("batonctl switchover to %s: exit %d: %s" %
                         (target, p.returncode, p.stderr.strip()[-400:]))
        lfs = {}

        def all_steps():
            for r in regions:
                st = kc_json(r, "-n", ns, "get", "dbc", name)["status"]
                lf = st.get("lastFailover", {})
                if lf.get("to") != target or lf.get("epoch", 0) <= old_epoch:
                    return "%s: lastFailover %s" % (r, lf)
                steps = lf.get("stepsMillis", {})
                if "routed" not in steps or "serving" not in steps:
                    return "%s: steps %s" % (r, steps)
                if r == target and "labelled" not in steps:
                    return "%s: not labelled yet" % r
                lfs[r] = lf
            return True
        wait_until("every region records the steps", 30, all_steps)
        epoch = lfs[target]["epoch"]
        if any(lf["epoch"] != epoch for lf in lfs.values()):
            raise Failed("regions disagree on the epoch: %s" % lfs)
        check_routing(regions, ns, name, svc, mesh, target, epoch)

        applied = {r: parse_ms(lf["appliedAt"]) for r, lf in lfs.items()}
        t0 = min(applied.values())

        def at(r, step):
            return applied[r] + lfs[r]["stepsMillis"][step]

        def status_new(obj):
            st = obj.get("status", {})
            return (st.get("primaryRegion") == target and
                    st.get("epoch") == epoch)
        status_t = {}
        for w in watches:
            t = w.first(status_new)
            if t is None:
                raise Failed("%s: no watch event shows the new status" %
                             w.region)
            status_t[w.region] = t
        return {
            "mesh": mesh, "to": target, "epoch": epoch,
            "applySpreadMs": max(applied.values()) - t0,
            "routedMs": max(at(r, "routed") for r in regions) - t0,
            "labelledMs": at(target, "labelled") - t0,
            "statusMs": round(max(status_t.values()) - t0),
            "servingMs": max(at(r, "serving") for r in regions) - t0,
            "perRegion": {r: dict(lfs[r]["stepsMillis"],
                                  appliedAfterMs=applied[r] - t0)
                          for r in regions},
        }
    finally:
        for w in watches:
            w.stop()


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Exit: 0 measured, 1 a switchover, step or routing check "
               "failed, 2 usage (or the lab is not up).")
    ap.add_argument("--repeat", type=int, default=3,
                    help="switchovers per backend (default 3)")
    ap.add_argument("--db", default="lab/orders", help="NS/NAME")
    ap.add_argument("--mesh", default=",".join(MESHES),
                    help="backends, comma separated (default all)")
    ap.add_argument("--out", help="write the samples and summary as JSON")
    a = ap.parse_args()
    meshes = [m for m in a.mesh.split(",") if m]
    if a.repeat < 1 or any(m not in MESHES for m in meshes) or \
            "/" not in a.db:
        ap.error("--repeat >= 1, --mesh from %s, --db NS/NAME" % MESHES)
    ns, name = a.db.split("/", 1)
    try:
        regions = open(os.path.join(LAB, "regions/regions")).read().split()
    except OSError:
        print("bench-shift: the lab is not up (%s): make lab" % LAB,
              file=sys.stderr)
        return 2
    for f in [KUBECTL, BATONCTL] + CRDS:
        if not os.path.exists(f):
            print("bench-shift: missing %s (make deps all)" % f,
                  file=sys.stderr)
            return 2

    samples = []
    original = None
    try:
        dbc = kc_json(regions[0], "-n", ns, "get", "dbc", name)
        original = dbc["spec"].get("traffic", {})
        svc = "%s-rw" % name
        log("installing the Istio and MCS CRDs in %s" % ", ".join(regions))
        for r in regions:
            for f in CRDS:
                kc(r, "apply", "--server-side", "-f", f, timeout=120)
            kc(r, "wait", "--for", "condition=established", "--timeout=60s",
               "crd/virtualservices.networking.istio.io",
               "crd/destinationrules.networking.istio.io",
               "crd/serviceexports.multicluster.x-k8s.io", timeout=90)
        wait_until("the fleet agrees on a healthy primary", 240,
                   lambda: fleet_agrees(regions, ns, name), interval=1)
        for mesh in meshes:
            set_traffic(regions, ns, name,
                        {"mesh": mesh, "service": {"name": svc}})

            def routed_everywhere():
                for r in regions:
                    o = kc_json(r, "-n", ns, "get", "dbc", name)
                    c = cond(o, "TrafficRouted")
                    if c.get("status") != "True" or \
                            c.get("observedGeneration") != \
                            o["metadata"]["generation"]:
                        return "%s: TrafficRouted %s" % (r, c)
                return True
            # batond rediscovers APIs every 30 s
            wait_until("mesh %s routed in every region" % mesh, 90,
                       routed_everywhere, interval=1)
            log("mesh %s: every region routes with it" % mesh)
            for i in range(a.repeat):
                wait_until("the fleet agrees on a healthy primary", 240,
                           lambda: fleet_agrees(regions, ns, name),
                           interval=1)
                st = kc_json(regions[0], "-n", ns, "get", "dbc",
                             name)["status"]
                cur = st["primaryRegion"]
                target = regions[(regions.index(cur) + 1) % len(regions)]
                s = one_switchover(regions, ns, name, svc, mesh, target)
                samples.append(s)
                log("mesh %s #%d %s -> %s epoch %d: routed %d ms, labelled "
                    "%d ms, status %d ms, serving %d ms (apply spread %d ms)"
                    % (mesh, i + 1, cur, target, s["epoch"], s["routedMs"],
                       s["labelledMs"], s["statusMs"], s["servingMs"],
                       s["applySpreadMs"]))
    except Failed as e:
        print("bench-shift: FAILED: %s" % e, file=sys.stderr)
        return 1
    finally:
        if original is not None:
            try:
                set_traffic(regions, ns, name, original)
            except Failed as e:
                print("bench-shift: could not put spec.traffic back: %s" % e,
                      file=sys.stderr)

    keys = ["routedMs", "labelledMs", "statusMs", "servingMs"]
    summary = {}
    print("%-7s %3s  %-17s %-17s %-17s %-17s" %
          ("mesh", "n", "routed p50/max", "labelled p50/max",
           "status p50/max", "serving p50/max"))
    for mesh in meshes:
        ss = [s for s in samples if s["mesh"] == mesh]
        summary[mesh] = {k: {"p50": pct([s[k] for s in ss], 0.5),
                             "max": max(s[k] for s in ss)} for k in keys}
        print("%-7s %3d  %s" % (mesh, len(ss), "  ".join(
            "%-15s" % ("%d/%d ms" % (summary[mesh][k]["p50"],
                                     summary[mesh][k]["max"]))
            for k in keys)))
    print("(from the promote applied in the first region; serving includes "
          "PostgreSQL's promotion)")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"samples": samples, "summary": summary}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
