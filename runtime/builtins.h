/* builtins.h — every built-in function callable from expressions, declared once.
 *
 * Include with BUILTIN(id, name, min_args, max_args, doc) defined.  The
 * checker uses it to resolve names and arity (result types live in
 * compiler/check_builtins.c), the emitter for the CALL id, the VM to dispatch.
 */
#ifndef BUILTIN
#error "define BUILTIN(id, name, min_args, max_args, doc) before including builtins.h"
#endif

BUILTIN(LEN,      "len",      1, 1, "length of a string (bytes), array or object")
BUILTIN(LOWER,    "lower",    1, 1, "string in lower case")
BUILTIN(UPPER,    "upper",    1, 1, "string in upper case")
BUILTIN(TRIM,     "trim",     1, 1, "string without leading and trailing white space")
BUILTIN(CONTAINS, "contains", 2, 2, "string contains substring, or array contains value")
BUILTIN(SPLIT,    "split",    2, 2, "split a string by a separator into an array of strings")
BUILTIN(JOIN,     "join",     2, 2, "join an array of strings with a separator")
BUILTIN(STRING,   "string",   1, 1, "any value as a string")
BUILTIN(INT,      "int",      1, 1, "number or numeric string as an int (truncates)")
BUILTIN(FLOAT,    "float",    1, 1, "number or numeric string as a float")
BUILTIN(SECONDS,  "seconds",  1, 1, "a duration in seconds (float)")
BUILTIN(MILLIS,   "millis",   1, 1, "a duration in milliseconds (int)")
BUILTIN(COALESCE, "coalesce", 2, 8, "the first argument that is present and not null")
BUILTIN(ROUND,    "round",    1, 1, "number rounded to the nearest int")
BUILTIN(ABS,      "abs",      1, 1, "absolute value")
BUILTIN(MIN,      "min",      2, 8, "smallest argument")
BUILTIN(MAX,      "max",      2, 8, "largest argument")
