/* labkubelet/container.c: containers: a container is a process started in
 * the pod host; one that exits is restarted with backoff (1 s, doubling to
 * 30 s, reset after 60 s of running) and counted in restartCount. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"

#include "labkubelet.h"

static void restart_timer_cb(uv_timer_t *t)
{
	struct ctr *c = t->data;
	struct pod *p = c->pod;

	c->in_backoff = false;
	if (p->state != PS_RUNNING || pod_want_stop(p)) {
		pod_sync(p);
		return;
	}
	ctr_start(c);
	pod_status_write(p);
}

static void ctr_backoff(struct ctr *c)
{
	uint64_t delay = c->backoff_ms;

	c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
							   : c->backoff_ms * 2;
	c->in_backoff = true;
	snprintf(c->wait_reason, sizeof c->wait_reason, "%s",
		 c->ever_started ? "CrashLoopBackOff" : "CreateContainerError");
	if (c->ever_started) {
		snprintf(c->wait_msg, sizeof c->wait_msg,
			 "back-off %llus restarting failed container %s",
			 (unsigned long long)(delay / 1000), c->name);
		pod_event_rec(c->pod, "Warning", "BackOff",
			      "Back-off restarting failed container");
	}
	c->restart_timer.data = c;
	uv_timer_start(&c->restart_timer, restart_timer_cb, delay, 0);
}

static void proc_closed_cb(uv_handle_t *h)
{
	struct ctr *c = h->data;
	struct pod *p = c->pod;

	c->running = false;
	p->open_handles--;
	state_write(p);
	if (p->state == PS_GONE) {
		pod_maybe_free(p);
		return;
	}
	if (p->state == PS_RUNNING && !pod_want_stop(p)) {
		ctr_backoff(c);
		c->restarts++;
		pod_status_write(p);
		return;
	}
	pod_sync(p);
}

static void proc_exit_cb(uv_process_t *proc, int64_t exit_status,
			 int term_signal)
{
	struct ctr *c = proc->data;
	struct pod *p = c->pod;

	c->exited = true;
	c->has_last = true;
	c->last_code = term_signal != 0 ? 128 + term_signal : (int)exit_status;
	snprintf(c->last_reason, sizeof c->last_reason, "%s",
		 c->last_code == 0 ? "Completed" : "Error");
	snprintf(c->last_started, sizeof c->last_started, "%s", c->started_at);
	time_rfc3339(c->last_finished, sizeof c->last_finished);
	c->ready = false;
	uv_timer_stop(&c->probe_timer);
	if (uv_now(p->lk->loop) - c->started_ms >= BACKOFF_RESET_MS) {
		c->backoff_ms = BACKOFF_MIN_MS;
	}
	pod_log(p,
		p->state == PS_RUNNING && !pod_want_stop(p) ? BATON_LOG_WARN
							    : BATON_LOG_INFO,
		"container exited",
		json_pack("{s:s, s:i, s:I, s:i}", "container", c->name, "pid",
			  c->pid, "exit_status", (json_int_t)exit_status,
			  "signal", term_signal));
	/* running stays true until the handle is closed: the pod is busy */
	uv_close((uv_handle_t *)&c->proc, proc_closed_cb);
}

/* The container's executable: the word after pod-exec's "--". */
static const char *exe_of(const struct strv *argv)
{
	for (int i = 0; i + 1 < argv->n; i++) {
		if (strcmp(argv->v[i], "--") == 0) {
			return argv->v[i + 1];
		}
	}
	return argv->n > 0 ? argv->v[0] : "";
}

static int ctr_open_log(struct ctr *c)
{
	char path[POD_PATH_MAX + 80];
	snprintf(path, sizeof path, "%s/%s.log", c->pod->dir, c->name);
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

/* Starts C's process in the pod host; on failure schedules a retry with
 * backoff and says why in the waiting state. */
int ctr_start(struct ctr *c)
{
	struct pod *p = c->pod;
	struct strv argv = {.n = 0}, env = {.n = 0};
	uv_process_options_t po;
	uv_stdio_container_t stdio[3];
	json_t *spec = ctr_spec(c);
	int fd = -1;
	int rv;

	c->wait_msg[0] = '\0';
	if (spec == NULL) {
		baton_errmsg_printf(c->wait_msg, "container %s vanished",
				    c->name);
		rv = BATON_EINTERNAL;
		goto err;
	}
	rv = ctr_build(c, spec, &argv, &env);
	if (rv != 0) {
		goto err;
	}
	fd = ctr_open_log(c);
	if (fd < 0) {
		baton_errmsg_printf(c->wait_msg, "log file in %s: %s", p->dir,
				    strerror(errno));
		rv = BATON_EIO;
		goto err;
	}
	memset(&po, 0, sizeof po);
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_INHERIT_FD;
	stdio[1].data.fd = fd;
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = fd;
	po.file = argv.v[0];
	po.args = argv.v;
	po.env = env.v;
	po.stdio = stdio;
	po.stdio_count = 3;
	po.exit_cb = proc_exit_cb;
	/* Own session and process group: SIGTERM reaches the container's
	 * children, and a crash of ours does not take the pods down. */
	po.flags = UV_PROCESS_DETACHED;
	c->proc.data = c;
	rv = uv_spawn(p->lk->loop, &c->proc, &po);
	close(fd);
	p->open_handles++;
	if (rv != 0) {
		baton_errmsg_printf(c->wait_msg, "spawn %s: %s", argv.v[0],
				    uv_strerror(rv));
		c->running = true; /* until the close callback */
		c->exited = true;
		c->ever_started = false;
		uv_close((uv_handle_t *)&c->proc, proc_closed_cb);
		strv_free(&argv);
		strv_free(&env);
		return BATON_EIO;
	}
	c->running = true;
	c->exited = false;
	c->ever_started = true;
	c->pid = c->proc.pid;
	c->pid_start = proc_start_time(c->pid);
	c->started_ms = uv_now(p->lk->loop);
	c->probe_failures = 0;
	c->ready = !c->has_probe;
	c->wait_reason[0] = '\0';
	time_rfc3339(c->started_at, sizeof c->started_at);
	state_write(p);
	pod_log(p, BATON_LOG_INFO, "container started",
		json_pack("{s:s, s:i, s:s, s:i}", "container", c->name, "pid",
			  c->pid, "command", exe_of(&argv), "restarts",
			  c->restarts));
	{
		char msg[160];
		snprintf(msg, sizeof msg,
			 "Started container %.60s (pid %d in pod host %.40s)",
			 c->name, c->pid, p->netns);
		pod_event_rec(p, "Normal", "Started", msg);
	}
	if (c->has_probe) {
		probe_schedule(c,
			       c->probe_delay_ms > 0 ? c->probe_delay_ms : 300);
	}
	strv_free(&argv);
	strv_free(&env);
	return 0;
err:
	strv_free(&argv);
	strv_free(&env);
	pod_log(p, BATON_LOG_ERROR, "cannot start container",
		json_pack("{s:s, s:s}", "container", c->name, "error",
			  c->wait_msg));
	pod_event_rec(p, "Warning", "Failed", c->wait_msg);
	ctr_backoff(c);
	snprintf(c->wait_reason, sizeof c->wait_reason, "%s",
		 rv == BATON_ENOTFOUND ? "RunContainerError"
				       : "CreateContainerConfigError");
	return rv;
}
