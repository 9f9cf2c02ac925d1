/* vm_internal.h — shared by the interpreter and the built-in functions. */
#ifndef EFC_VM_INTERNAL_H
#define EFC_VM_INTERNAL_H
#include "vm.h"

/* Calls built-in `id` on borrowed args.  Stores a new reference (or NULL,
 * or VM_MISSING) in *result.  0, or -1 with a message in err. */
int vm_builtin(int id, struct json_object *const *args, int argc, struct json_object **result, char *err, size_t errsz);

/* Readable name of a value's type for error messages. */
const char *vm_type_name(struct json_object *v);
#endif
