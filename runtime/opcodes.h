/* opcodes.h — every bytecode instruction, declared once.
 *
 * Include with OP(name, operand_bytes, pops, pushes, doc) defined; the
 * emitter, the verifier, the disassembler and the VM each give OP their own
 * meaning.  pops/pushes of -1 mean "taken from the operand" (see doc).
 * Operands are little-endian: K = u16 constant index, A = u32 absolute code
 * offset, N = u16 count, B = u8 builtin id + u8 argc.
 *
 * Values: every stack slot holds a JSON value or MISSING (an absent field).
 * Logic is three-valued, as in EventBridge: a comparison with MISSING is
 * MISSING ("unknown"), `not` keeps it unknown, and a WHERE stage passes a
 * row only when its predicate is exactly true.
 * The row is the current stage's input object (the event's detail at the
 * first stage); the envelope is the triggering event's EventBridge envelope.
 */
#ifndef OP
#error "define OP(name, operand_bytes, pops, pushes, doc) before including opcodes.h"
#endif

OP(NOP,       0, 0, 0, "do nothing")
OP(CONST,     2, 0, 1, "K: push constant K")
OP(NULL,      0, 0, 1, "push null")
OP(TRUE,      0, 0, 1, "push true")
OP(FALSE,     0, 0, 1, "push false")
OP(ROW,       0, 0, 1, "push the current row object")
OP(ENV,       2, 0, 1, "K: push envelope field named by string constant K (time, source, ...)")
OP(GET,       2, 1, 1, "K: pop object, push its field named by string constant K (MISSING if absent)")
OP(INDEX,     0, 2, 1, "pop index, pop array, push element (MISSING if out of range)")
OP(ADD,       0, 2, 1, "pop b, pop a, push a+b (numbers; strings concatenate; time+duration)")
OP(SUB,       0, 2, 1, "pop b, pop a, push a-b (numbers; time-time is a duration)")
OP(MUL,       0, 2, 1, "pop b, pop a, push a*b")
OP(DIV,       0, 2, 1, "pop b, pop a, push a/b (error on division by zero)")
OP(MOD,       0, 2, 1, "pop b, pop a, push a%b (error on division by zero)")
OP(NEG,       0, 1, 1, "pop a, push -a")
OP(EQ,        0, 2, 1, "pop b, pop a, push a==b (MISSING if either is MISSING)")
OP(NE,        0, 2, 1, "pop b, pop a, push a!=b (MISSING if either is MISSING)")
OP(LT,        0, 2, 1, "pop b, pop a, push a<b")
OP(LE,        0, 2, 1, "pop b, pop a, push a<=b")
OP(GT,        0, 2, 1, "pop b, pop a, push a>b")
OP(GE,        0, 2, 1, "pop b, pop a, push a>=b")
OP(NOT,       0, 1, 1, "pop a, push !a (MISSING stays MISSING)")
OP(AND,       0, 2, 1, "pop b, pop a, push a and b (three-valued: false wins, then MISSING)")
OP(OR,        0, 2, 1, "pop b, pop a, push a or b (three-valued: true wins, then MISSING)")
OP(PREFIX,    0, 2, 1, "pop p, pop s, push s starts with p")
OP(SUFFIX,    0, 2, 1, "pop p, pop s, push s ends with p")
OP(WILDCARD,  0, 2, 1, "pop p, pop s, push s matches wildcard p ('*' any run, '\\*' a star)")
OP(IEQ,       0, 2, 1, "pop b, pop a, push a equals b ignoring case")
OP(IN,        0, 2, 1, "pop array, pop a, push a is an element of array")
OP(CIDR,      0, 2, 1, "pop cidr string, pop ip string, push ip is inside cidr")
OP(EXISTS,    0, 1, 1, "pop a, push a is not MISSING")
OP(JUMP,      4, 0, 0, "A: continue at offset A")
OP(JUMPF,     4, 1, 0, "A: pop a, continue at A if a is falsy")
OP(ANDJ,      4, 1, 1, "A: if top is false continue at A keeping it (short circuit before AND)")
OP(ORJ,       4, 1, 1, "A: if top is true continue at A keeping it (short circuit before OR)")
OP(CALL,      2,-1, 1, "B: pop argc arguments, push builtin(args)")
OP(OBJECT,    0, 0, 1, "push a new empty object")
OP(SETF,      2, 2, 1, "K: pop value, set field K of the object below (MISSING values are skipped)")
OP(MERGE,     0, 2, 1, "pop object, copy its fields into the object below")
OP(ARRAY,     2,-1, 1, "N: pop N values, push them as an array (first pushed first)")
OP(POP,       0, 1, 0, "discard top")
OP(RETURN,    0, 1, 0, "pop the block's result and end the block")
