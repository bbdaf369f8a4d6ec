/* labkubelet/fakeagent.c: fake-agent: a stand-in for baton-agent in the
 * lab kubelet's tests (/healthz, /readyz, /v1/status). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/server.h"

#include "labkubelet.h"

struct fake {
	uv_signal_t sigterm;
	uv_signal_t sigint;
	struct baton_http_server http;
	const char *not_ready_file;
	const char *echo_env; /* a variable /v1/status shows, for tests */
};

static void fake_healthz(struct baton_http_request *req, void *data)
{
	(void)data;
	baton_http_respond(req, 200, "text/plain", "ok\n", 3, NULL);
}

static void fake_readyz(struct baton_http_request *req, void *data)
{
	struct fake *f = data;
	if (f->not_ready_file != NULL && access(f->not_ready_file, F_OK) == 0) {
		baton_http_respond(req, 503, "text/plain", "not ready\n", 10,
				   NULL);
		return;
	}
	baton_http_respond(req, 200, "text/plain", "ok\n", 3, NULL);
}

static void fake_status(struct baton_http_request *req, void *data)
{
	struct fake *f = data;
	json_t *o;
	char *text;
	o = json_pack("{s:s?, s:s?, s:i, s:s?}", "pod", getenv("POD_NAME"),
		      "namespace", getenv("POD_NAMESPACE"), "pid",
		      (int)getpid(), "region", getenv("BATON_REGION"));
	if (o != NULL && f->echo_env != NULL) {
		const char *v = getenv(f->echo_env);
		json_object_set_new(o, "env",
				    json_pack("{s:s?}", f->echo_env, v));
	}
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (text == NULL) {
		baton_http_respond_error(req, 500, "out of memory");
		return;
	}
	baton_http_respond(req, 200, "application/json", text, strlen(text),
			   NULL);
	free(text);
}

static void fake_closed_cb(struct baton_http_server *srv)
{
	(void)srv;
}

static void fake_signal_cb(uv_signal_t *h, int signum)
{
	struct fake *f = h->data;
	(void)signum;
	baton_http_server_close(&f->http, fake_closed_cb);
	uv_close((uv_handle_t *)&f->sigterm, NULL);
	uv_close((uv_handle_t *)&f->sigint, NULL);
}

int fake_agent_main(int argc, char **argv)
{
	const char *listen = "0.0.0.0:8081";
	const char *write_file = NULL;
	struct fake f = {.not_ready_file = NULL};
	bool ignore_term = false;
	struct baton_http_config hc = {0};
	char host[128];
	const char *colon;
	uv_loop_t loop;
	int port;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
			listen = argv[++i];
		} else if (strcmp(argv[i], "--write") == 0 && i + 1 < argc) {
			write_file = argv[++i];
		} else if (strcmp(argv[i], "--not-ready-file") == 0 &&
			   i + 1 < argc) {
			f.not_ready_file = argv[++i];
		} else if (strcmp(argv[i], "--echo-env") == 0 && i + 1 < argc) {
			f.echo_env = argv[++i];
		} else if (strcmp(argv[i], "--ignore-sigterm") == 0) {
			ignore_term = true; /* only SIGKILL ends it */
		} else {
			/* tolerate baton-agent's flags, so the same pod spec
			 * can run either */
			if (strncmp(argv[i], "--", 2) == 0 && i + 1 < argc &&
			    strncmp(argv[i + 1], "--", 2) != 0) {
				i++;
			}
		}
	}
	colon = strrchr(listen, ':');
	if (colon == NULL || (size_t)(colon - listen) >= sizeof host) {
		fprintf(stderr, "fake-agent: --listen wants HOST:PORT\n");
		return 2;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	port = (int)strtol(colon + 1, NULL, 10);
	if (write_file != NULL) {
		FILE *w = fopen(write_file, "a");
		if (w == NULL) {
			fprintf(stderr, "fake-agent: %s: %s\n", write_file,
				strerror(errno));
			return 1;
		}
		fprintf(w, "%s\n",
			getenv("POD_NAME") ? getenv("POD_NAME") : "?");
		fclose(w);
	}
	uv_loop_init(&loop);
	if (baton_http_server_init(&loop, &f.http, &hc) != 0 ||
	    baton_http_route(&f.http, "GET", "/healthz", fake_healthz, &f) ||
	    baton_http_route(&f.http, "GET", "/readyz", fake_readyz, &f) ||
	    baton_http_route(&f.http, "GET", "/v1/status", fake_status, &f) ||
	    baton_http_server_listen(&f.http, host, port) != 0) {
		fprintf(stderr, "fake-agent: %s: %s\n", listen, f.http.errmsg);
		return 1;
	}
	uv_signal_init(&loop, &f.sigterm);
	uv_signal_init(&loop, &f.sigint);
	f.sigterm.data = &f;
	f.sigint.data = &f;
	if (ignore_term) {
		signal(SIGTERM, SIG_IGN);
	} else {
		uv_signal_start(&f.sigterm, fake_signal_cb, SIGTERM);
	}
	uv_signal_start(&f.sigint, fake_signal_cb, SIGINT);
	baton_log(BATON_LOG_INFO, "fake-agent", "serving on %s", listen);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	baton_log(BATON_LOG_INFO, "fake-agent", "stopped");
	return 0;
}
