/* Unit tests for operator/batond/firststatus: a new database's first
 * status is held back only while its registration can still commit, and
 * never once a status exists, without a majority, past the wait, or with
 * an age this process cannot trust. */
#include <math.h>

#include "batond/firststatus.h"
#include "harness.h"

static struct baton_fsm_view in_flight(void)
{
	struct baton_fsm_view v = {0};
	v.quorum = true;
	v.registered = false;
	return v;
}

START_TEST(a_new_database_waits_for_its_registration)
{
	struct baton_fsm_view v = in_flight();
	json_t *empty = json_object();

	ck_assert(baton_firststatus_hold(NULL, &v, 0));
	ck_assert(baton_firststatus_hold(empty, &v, 1.5));
	ck_assert(
	    baton_firststatus_hold(NULL, &v, BATON_FIRSTSTATUS_WAIT_S - 0.5));
	json_decref(empty);
}
END_TEST

START_TEST(a_written_status_is_never_held)
{
	struct baton_fsm_view v = in_flight();
	json_t *old = json_pack("{s:s}", "phase", "Provisioning");
	json_t *odd = json_string("not an object");

	/* a restart whose log is behind: the status it has stays current */
	ck_assert(!baton_firststatus_hold(old, &v, 0));
	ck_assert(!baton_firststatus_hold(odd, &v, 0));
	json_decref(old);
	json_decref(odd);
}
END_TEST

START_TEST(registered_or_no_majority_writes_at_once)
{
	struct baton_fsm_view v = in_flight();

	v.registered = true;
	ck_assert(!baton_firststatus_hold(NULL, &v, 0));
	v = in_flight();
	v.quorum = false; /* no commit can come: say Provisioning now */
	ck_assert(!baton_firststatus_hold(NULL, &v, 0));
	ck_assert(!baton_firststatus_hold(NULL, NULL, 0));
}
END_TEST

START_TEST(the_wait_is_bounded_and_the_age_trusted_only_when_sane)
{
	struct baton_fsm_view v = in_flight();

	/* past the wait: a registration that cannot commit (a full FSM) is
	 * not hidden */
	ck_assert(!baton_firststatus_hold(NULL, &v, BATON_FIRSTSTATUS_WAIT_S));
	ck_assert(!baton_firststatus_hold(NULL, &v, 86400));
	/* unknown (-1), from the future (this clock behind the server's),
	 * or not a number: written at once */
	ck_assert(!baton_firststatus_hold(NULL, &v, -1));
	ck_assert(!baton_firststatus_hold(NULL, &v, -0.25));
	ck_assert(!baton_firststatus_hold(NULL, &v, NAN));
}
END_TEST

static Suite *firststatus_suite(void)
{
	Suite *s = suite_create("batond_firststatus");
	TCase *tc = tcase_create("hold");
	tcase_add_test(tc, a_new_database_waits_for_its_registration);
	tcase_add_test(tc, a_written_status_is_never_held);
	tcase_add_test(tc, registered_or_no_majority_writes_at_once);
	tcase_add_test(tc,
		       the_wait_is_bounded_and_the_age_trusted_only_when_sane);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(firststatus_suite)
