/* commands.h — every efc command, declared once: COMMAND(name, function, summary). */
COMMAND("check",   cmd_check,   "check .flow files and report every error")
COMMAND("compile", cmd_compile, "write EventBridge rules, Event Store items and bytecode")
COMMAND("explain", cmd_explain, "show what each flow pushes to EventBridge and what stays in the runtime")
COMMAND("disasm",  cmd_disasm,  "list the contents of a bytecode image (.efb)")
COMMAND("fmt",     cmd_fmt,     "rewrite .flow files in the canonical layout")
COMMAND("run",     cmd_run,     "run an application locally over NDJSON events")
COMMAND("tokens",  cmd_tokens,  "print the token stream of a .flow file (debugging)")
COMMAND("test-event-pattern", cmd_test_event_pattern, "test an event against an EventBridge event pattern")
