/* Executable invariants (STYLE 6: "Assert preconditions"; the models are
 * raft's assert()s and SQLite's ALWAYS/NEVER in sqliteInt.h).
 *
 * Three macros, for two different kinds of "cannot happen":
 *
 *   BATON_ASSERT(x)  an invariant the code after it relies on for memory
 *                    safety or for the meaning of its state: a slot index in
 *                    range, a list that is not empty, a key that must be
 *                    there. Going on when it is false corrupts memory or
 *                    state silently. Checked in EVERY build: it logs the
 *                    expression and aborts. batond is restarted, rejoins
 *                    Raft and rebuilds its state from the log and the API
 *                    servers; a replica that went on with a broken index
 *                    could instead diverge from the others without a word.
 *                    So the condition must be cheap (O(1)); a walk over a
 *                    whole structure goes under #ifdef BATON_CHECKED.
 *
 *   ALWAYS(x)        a defensive branch: the code handles the impossible
 *   NEVER(x)         case anyway, in a way that is safe (a rejection, a
 *                    skipped step). `if (NEVER(rv != BATON_ENOMEM))` reads
 *                    "this is dead code, and here is what we would do".
 *                    In checked builds the impossible case aborts like
 *                    BATON_ASSERT, so tests and fuzzers find out it
 *                    happened; in release builds the macro is just (x) and
 *                    the defensive branch runs. This is SQLite's meaning.
 *
 * Checked builds define BATON_CHECKED: the Makefile does for the sanitizer
 * builds (SANITIZE=..., build/san/, which `make unit` uses) and for the
 * fuzz targets. build/plain/ — the programs shipped in the image — is a
 * release build. tests/unit/test_common_assert.c runs in both and checks
 * each meaning.
 *
 * Which to use. Malformed *input* is neither: a Raft entry, a snapshot, an
 * API object or a request that does not make sense is rejected through the
 * error path, never asserted. In the replicated state machine
 * (consensus/fsm.c) prefer NEVER with a safe fallback over BATON_ASSERT:
 * every replica applies the same entry, so an abort there that depends on
 * the log's content would stop all of them at once, and again at every
 * restart (they replay the same log).
 *
 * Every macro evaluates X exactly once, in every build, so X may have side
 * effects (not that it should).
 */
#ifndef BATON_COMMON_ASSERT_H
#define BATON_COMMON_ASSERT_H

/* Logs "invariant failed: EXPR at FILE:LINE (FUNC)" as an error line and
 * calls abort(). Not for direct use. */
_Noreturn void baton_assert_fail(const char *expr, const char *file, int line,
				 const char *func);

#define BATON_ASSERT(x)                                                        \
	((x) ? (void)0 : baton_assert_fail(#x, __FILE__, __LINE__, __func__))

#ifdef BATON_CHECKED
#define ALWAYS(x)                                                              \
	((x) ? 1 : (baton_assert_fail(#x, __FILE__, __LINE__, __func__), 0))
#define NEVER(x)                                                               \
	((x) ? (baton_assert_fail(#x, __FILE__, __LINE__, __func__), 1) : 0)
#else
#define ALWAYS(x) ((x) ? 1 : 0)
#define NEVER(x) ((x) ? 1 : 0)
#endif

#endif /* BATON_COMMON_ASSERT_H */
