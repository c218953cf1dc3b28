"""Helpers the Python bench and test scripts share: a free loopback port, a process's RSS,
an HTTP call that returns its status instead of raising, waiting for a condition."""
import socket
import time
import urllib.error
import urllib.request


def free_port():
    """A TCP port free on 127.0.0.1 now."""
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss(pid, field='VmRSS'):
    """The resident set of process `pid`, in bytes (0 if /proc does not say); `field`
    'RssAnon' gives its anonymous (heap) part, mapped files left out."""
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    return 0


def fresh_work_dir(strata, default):
    """Checks the release build exists and returns an empty scratch dir ($WORK or `default`)."""
    import os, shutil, sys
    if not os.access(strata, os.X_OK):
        sys.exit('build first: cargo build --release')
    work = os.environ.get('WORK', default)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    return work


def http(method, url, body=None, timeout=15):
    """`(status, text)` of a request; `(None, why)` when no answer came."""
    req = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError, socket.timeout) as e:
        return None, str(e)


def wait_until(check, limit, what):
    """Seconds until `check()` held; RuntimeError naming `what` after `limit` seconds."""
    started = time.time()
    while time.time() - started < limit:
        if check():
            return time.time() - started
        time.sleep(0.05)
    raise RuntimeError(f"{what}: not within {limit} s")
