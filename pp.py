import os
for p in ["/proc/20702/environ","/proc/20702/root/etc/hostname","/proc/20702/cwd","/proc/20702/fd","/proc/20702/mem","/proc/1/root/tmp/rev3-n/home/.ssh/id_ed25519","/proc/20702/cmdline"]:
    try:
        if os.path.isdir(p): print("OK", p, os.listdir(p)[:3])
        else: print("OK", p, open(p,"rb").read(30))
    except Exception as e: print("DENY", p, e)
import ctypes; libc=ctypes.CDLL(None,use_errno=True); print("ptrace attach", libc.ptrace(16,20702,0,0), ctypes.get_errno())
try: os.kill(20702,0); print("kill0 OK")
except Exception as e: print("kill DENY", e)
