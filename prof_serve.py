import signal, sys, yappi
sys.argv = ["bot", "serve"]
from bot.__main__ import main
yappi.set_clock_type("cpu")
yappi.start(builtins=False)
try:
    main()
finally:
    yappi.stop()
    yappi.get_func_stats().save("/tmp/prof/serve.pstat", type="pstat")
