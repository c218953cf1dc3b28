"""Helpers the Python bench scripts share: a free loopback port, a process's RSS."""
import socket


def free_port():
    """A TCP port free on 127.0.0.1 now."""
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss(pid):
    """The resident set of process `pid`, in bytes (0 if /proc does not say)."""
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
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
