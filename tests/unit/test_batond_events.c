/* batond's Events (batond/events.h) against a fake API server: what the
 * Event says (the reason, message and type it was given; the
 * DatabaseCluster it is about, also when the cached object lacks kind and
 * apiVersion; batond and its region as the source), and that a repeat
 * bumps the count of the same Event (kube/events.c's aggregation) where
 * batond used to create one Event per occurrence; and that the
 * aggregation cache, at its bound, forgets the least recently recorded
 * Event and keeps aggregating the others (it used to forget them all).
 */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "batond/events.h"
#include "common/labels.h"
#include "harness.h"
#include "http/server.h"
#include "kube/config.h"
#include "support/kubeconfig.h"

#define EVENTS_PATH "/api/v1/namespaces/shop/events"

struct fake {
	uv_loop_t loop;
	struct baton_http_server srv;
	struct baton_kube_client client;
	struct baton_kube_recorder rec;
	json_t *created[8];
	int n_created;
	json_t *patches[8];
	int n_patched;
	char patch_path[256];
	bool route_patches; /* each created Event's path answers PATCH */
	bool srv_closed, client_closed, rec_closed;
};

static struct fake *fk;

/* POST creates (the Event's name gives the path its PATCHes go to),
 * PATCH bumps: both are kept and answered with what they sent. */
static void answer_cb(struct baton_http_request *req, void *data)
{
	struct fake *f = data;
	json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
	bool create = strcmp(req->method, "POST") == 0;
	int *n = create ? &f->n_created : &f->n_patched;

	ck_assert_ptr_nonnull(body);
	ck_assert_int_lt(*n, 8);
	(create ? f->created : f->patches)[(*n)++] = body;
	if (create) {
		snprintf(f->patch_path, sizeof f->patch_path, "%s/%s",
			 EVENTS_PATH,
			 json_string_value(json_object_get(
			     json_object_get(body, "metadata"), "name")));
		if (f->route_patches) {
			ck_assert_int_eq(baton_http_route(&f->srv, "PATCH",
							  f->patch_path,
							  answer_cb, f),
					 0);
		}
	}
	baton_http_respond(req, create ? 201 : 200, "application/json",
			   req->body, req->body_len, NULL);
}

static void srv_closed_cb(struct baton_http_server *srv)
{
	fk->srv_closed = true;
}

static void client_closed_cb(struct baton_kube_client *c)
{
	fk->client_closed = true;
}

static void rec_closed_cb(struct baton_kube_recorder *r)
{
	fk->rec_closed = true;
}

static void fake_start(struct fake *f)
{
	struct baton_http_config hc = {0};

	memset(f, 0, sizeof *f);
	fk = f;
	ck_assert_int_eq(uv_loop_init(&f->loop), 0);
	ck_assert_int_eq(baton_http_server_init(&f->loop, &f->srv, &hc), 0);
	ck_assert_int_eq(
	    baton_http_route(&f->srv, "POST", EVENTS_PATH, answer_cb, f), 0);
	ck_assert_int_eq(baton_http_server_listen(&f->srv, "127.0.0.1", 0), 0);
	tst_local_client(&f->loop, &f->client, baton_http_server_port(&f->srv));
	ck_assert_int_eq(baton_events_init(&f->client, &f->rec, "eu"), 0);
}

static void fake_stop(struct fake *f)
{
	baton_kube_recorder_close(&f->rec, rec_closed_cb);
	LOOP_RUN_UNTIL(&f->loop, f->rec_closed);
	baton_kube_client_close(&f->client, client_closed_cb);
	baton_http_server_close(&f->srv, srv_closed_cb);
	LOOP_RUN_UNTIL(&f->loop, f->client_closed && f->srv_closed);
	LOOP_TEARDOWN(&f->loop);
	for (int i = 0; i < f->n_created; i++) {
		json_decref(f->created[i]);
	}
	for (int i = 0; i < f->n_patched; i++) {
		json_decref(f->patches[i]);
	}
}

static const char *str_at(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);
	if (b != NULL) {
		v = json_object_get(v, b);
	}
	return json_string_value(v);
}

START_TEST(test_event_is_about_the_database_cluster)
{
	struct fake f;
	/* as the informer's list may hand it: no kind, no apiVersion */
	json_t *obj = json_pack("{s:{s:s, s:s, s:s}}", "metadata", "name",
				"orders", "namespace", "shop", "uid", "u-1");
	json_t *ev;

	fake_start(&f);
	baton_events_record(&f.rec, obj, "Warning", "SwitchoverRefused",
			    "region mars is not in spec.regions");
	LOOP_RUN_UNTIL(&f.loop, f.rec.created == 1);
	ev = f.created[0];
	ck_assert_str_eq(str_at(ev, "reason", NULL), "SwitchoverRefused");
	ck_assert_str_eq(str_at(ev, "message", NULL),
			 "region mars is not in spec.regions");
	ck_assert_str_eq(str_at(ev, "type", NULL), "Warning");
	ck_assert_str_eq(str_at(ev, "involvedObject", "kind"),
			 "DatabaseCluster");
	ck_assert_str_eq(str_at(ev, "involvedObject", "apiVersion"),
			 BATON_API_VERSION);
	ck_assert_str_eq(str_at(ev, "involvedObject", "name"), "orders");
	ck_assert_str_eq(str_at(ev, "involvedObject", "namespace"), "shop");
	ck_assert_str_eq(str_at(ev, "involvedObject", "uid"), "u-1");
	ck_assert_str_eq(str_at(ev, "metadata", "namespace"), "shop");
	ck_assert_str_eq(str_at(ev, "source", "component"), "batond");
	ck_assert_str_eq(str_at(ev, "source", "host"), "eu");
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "count")), 1);
	/* OBJ is the cache's: left as it was */
	ck_assert_ptr_null(json_object_get(obj, "kind"));
	json_decref(obj);
	fake_stop(&f);
}
END_TEST

START_TEST(test_repeat_bumps_the_count)
{
	struct fake f;
	json_t *obj =
	    json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "apiVersion",
		      BATON_API_VERSION, "kind", "DatabaseCluster", "metadata",
		      "name", "orders", "namespace", "shop", "uid", "u-1");

	fake_start(&f);
	baton_events_record(&f.rec, obj, "Normal", "FailoverStarted",
			    "promoting eu");
	LOOP_RUN_UNTIL(&f.loop, f.rec.created == 1);
	ck_assert_int_eq(
	    baton_http_route(&f.srv, "PATCH", f.patch_path, answer_cb, &f), 0);
	baton_events_record(&f.rec, obj, "Normal", "FailoverStarted",
			    "promoting eu");
	LOOP_RUN_UNTIL(&f.loop, f.rec.patched == 1);
	ck_assert_int_eq(f.n_created, 1);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(f.patches[0], "count")), 2);
	/* another message is another Event */
	baton_events_record(&f.rec, obj, "Normal", "FailoverStarted",
			    "promoting us");
	LOOP_RUN_UNTIL(&f.loop, f.rec.created == 2);
	ck_assert_str_eq(str_at(f.created[1], "message", NULL), "promoting us");
	ck_assert_int_eq(f.rec.failed, 0);
	json_decref(obj);
	fake_stop(&f);
}
END_TEST

/* An entry holds a request only while one is in flight (kube/events.c):
 * a create the server refuses is counted and a repeat creates again (a
 * create answered 404 was sent again at once, without end); a
 * close with a create in flight cancels it and frees what it held (ASan
 * sees a leak or a use after free: the cancel's callback, run at once,
 * freed the entries the close was still walking). */
START_TEST(test_failed_and_in_flight_at_close)
{
	struct fake f;
	json_t *other = json_pack("{s:{s:s, s:s, s:s}}", "metadata", "name",
				  "orders", "namespace", "elsewhere", "uid",
				  "u-2"); /* no route: 404 */
	json_t *obj = json_pack("{s:{s:s, s:s, s:s}}", "metadata", "name",
				"orders", "namespace", "shop", "uid", "u-1");

	fake_start(&f);
	baton_events_record(&f.rec, other, "Normal", "Created", "x");
	LOOP_RUN_UNTIL(&f.loop, f.rec.failed == 1);
	ck_assert_int_eq(f.rec.inflight, 0);
	baton_events_record(&f.rec, other, "Normal", "Created", "x");
	LOOP_RUN_UNTIL(&f.loop, f.rec.failed == 2);
	ck_assert_int_eq(f.rec.inflight, 0);
	ck_assert_int_eq(f.rec.created, 0);
	/* in flight when the recorder closes: the loop has not run since */
	baton_events_record(&f.rec, obj, "Normal", "Created", "y");
	ck_assert_int_eq(f.rec.inflight, 1);
	json_decref(other);
	json_decref(obj);
	fake_stop(&f);
	ck_assert_int_eq(f.rec.created, 0);
}
END_TEST

static json_t *dbc(const char *name)
{
	return json_pack("{s:{s:s, s:s, s:s}}", "metadata", "name", name,
			 "namespace", "shop", "uid", name);
}

static int created_for(struct fake *f, const char *name)
{
	int n = 0;

	for (int i = 0; i < f->n_created; i++) {
		n += strcmp(str_at(f->created[i], "involvedObject", "name"),
			    name) == 0;
	}
	return n;
}

/* A cache of three: a, b, c are created; a repeat of a makes b the least
 * recently recorded, so d forgets b alone: a repeat of a or c still
 * patches its Event (count 2, 3), one of b creates a new one. Clearing the
 * cache at the bound (the old way) created a and c again. Run under ASan:
 * what an eviction forgets is freed once. */
START_TEST(test_bound_forgets_the_oldest)
{
	struct fake f;
	json_t *a = dbc("a"), *b = dbc("b"), *c = dbc("c"), *d = dbc("d");

	fake_start(&f);
	f.route_patches = true;
	f.rec.cache_max = 3;
	baton_events_record(&f.rec, a, "Normal", "Created", "x");
	baton_events_record(&f.rec, b, "Normal", "Created", "x");
	baton_events_record(&f.rec, c, "Normal", "Created", "x");
	LOOP_RUN_UNTIL(&f.loop, f.rec.created == 3);
	baton_events_record(&f.rec, a, "Normal", "Created", "x");
	LOOP_RUN_UNTIL(&f.loop, f.rec.patched == 1);
	ck_assert_int_eq(f.rec.evicted, 0);

	baton_events_record(&f.rec, d, "Normal", "Created", "x");
	LOOP_RUN_UNTIL(&f.loop, f.rec.created == 4);

	baton_events_record(&f.rec, c, "Normal", "Created", "x");
	LOOP_RUN_UNTIL(&f.loop, f.rec.patched + f.rec.created == 6);
	baton_events_record(&f.rec, a, "Normal", "Created", "x");
	LOOP_RUN_UNTIL(&f.loop, f.rec.patched + f.rec.created == 7);
	ck_assert_int_eq(f.rec.created, 4); /* neither created again */
	ck_assert_int_eq(created_for(&f, "a"), 1);
	ck_assert_int_eq(created_for(&f, "c"), 1);
	ck_assert_int_eq(f.rec.evicted, 1);
	ck_assert_uint_eq(json_object_size(f.rec.cache), 3);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(f.patches[1], "count")), 2);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(f.patches[2], "count")), 3);

	/* b was forgotten: a new Event (it forgets d, the oldest now) */
	baton_events_record(&f.rec, b, "Normal", "Created", "x");
	LOOP_RUN_UNTIL(&f.loop, f.rec.created == 5);
	ck_assert_int_eq(created_for(&f, "b"), 2);
	ck_assert_int_eq(f.rec.evicted, 2);
	ck_assert_int_eq(f.rec.failed, 0);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(d);
	fake_stop(&f);
}
END_TEST

/* An entry forgotten with its create in flight is freed by that create's
 * callback, and one still in flight at close is cancelled and freed
 * (ASan: a leak, or a use after free). */
START_TEST(test_bound_forgets_one_in_flight)
{
	struct fake f;
	json_t *a = dbc("a"), *b = dbc("b"), *c = dbc("c");

	fake_start(&f);
	f.route_patches = true;
	f.rec.cache_max = 1;
	/* the loop does not run between these: a's and b's creates are in
	 * flight when b and c forget them */
	baton_events_record(&f.rec, a, "Normal", "Created", "x");
	baton_events_record(&f.rec, b, "Normal", "Created", "x");
	baton_events_record(&f.rec, c, "Normal", "Created", "x");
	ck_assert_int_eq(f.rec.evicted, 2);
	ck_assert_int_eq(f.rec.inflight, 3);
	LOOP_RUN_UNTIL(&f.loop, f.rec.created == 3);
	ck_assert_int_eq(f.rec.inflight, 0);
	ck_assert_ptr_null(f.rec.gone);
	ck_assert_uint_eq(json_object_size(f.rec.cache), 1);
	/* c is still aggregated */
	baton_events_record(&f.rec, c, "Normal", "Created", "x");
	LOOP_RUN_UNTIL(&f.loop, f.rec.patched == 1);
	/* two more forgotten in flight, then closed before they answer */
	baton_events_record(&f.rec, a, "Normal", "Created", "y");
	baton_events_record(&f.rec, b, "Normal", "Created", "y");
	ck_assert_int_eq(f.rec.evicted, 4);
	ck_assert_int_eq(f.rec.inflight, 2);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	fake_stop(&f);
	ck_assert_int_eq(f.rec.created, 3);
}
END_TEST

static Suite *events_suite(void)
{
	Suite *s = suite_create("batond_events");
	TCase *tc = tcase_create("events");

	tcase_add_test(tc, test_event_is_about_the_database_cluster);
	tcase_add_test(tc, test_repeat_bumps_the_count);
	tcase_add_test(tc, test_failed_and_in_flight_at_close);
	tcase_add_test(tc, test_bound_forgets_the_oldest);
	tcase_add_test(tc, test_bound_forgets_one_in_flight);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(events_suite)
