/* labkubelet/secretvol.c: secret volumes.
 * As the kubelet does: the Secret (in the pod's namespace) is fetched
 * before the pod host is made and each data key, base64-decoded, becomes a
 * file of STATE/pods/<uid>/volumes/<name>/ (or only the keys of items[], at
 * their relative paths), with the item's mode, else defaultMode, else
 * 0644. Each file is written atomically (temp file + rename) and only when
 * it changed; files of keys no longer there are removed. A missing Secret
 * holds the pod back (retried every 2 s) unless the volume is optional:
 * then the directory is empty. While the pod runs the files are refreshed
 * every heartbeat (10 s), as the kubelet updates secret volumes in place,
 * and the volume is always mounted read-only, as the kubelet's are. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "kube/rest.h"

#include "labkubelet.h"

#define SECRET_TMP "..labkubelet.tmp" /* no key nor item path starts ".." */
#define SECRET_DEPTH 16

/* True if REL may name a file of a secret volume: relative, no ".."
 * element, not starting with ".." (the API server's rule for items). */
static bool vol_rel_ok(const char *rel)
{
	const char *s = rel;

	if (rel[0] == '\0' || rel[0] == '/' || strlen(rel) > 255 ||
	    strncmp(rel, "..", 2) == 0) {
		return false;
	}
	while (*s != '\0') {
		size_t n = strcspn(s, "/");
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			return false;
		}
		s += n;
		s += *s == '/';
	}
	return true;
}

/* O's KEY (defaultMode, an item's mode): DFLT if absent, -1 if it is not a
 * mode in 0..0777. */
static int vol_mode(json_t *o, const char *key, int dflt)
{
	json_t *m = json_object_get(o, key);

	if (m == NULL) {
		return dflt;
	}
	if (!json_is_integer(m) || json_integer_value(m) < 0 ||
	    json_integer_value(m) > 0777) {
		return -1;
	}
	return (int)json_integer_value(m);
}

/* What secret volume VOL holds given the Secret's DATA (NULL: an optional
 * Secret that does not exist): relative path → {key, mode}. NULL with WHY
 * set when the volume asks for what the Secret cannot give. */
static json_t *secret_files(json_t *vol, json_t *data, char *why, size_t n)
{
	json_t *sec = json_object_get(vol, "secret");
	const char *vname = jstr(vol, "name");
	const char *sname = jstr(sec, "secretName");
	bool optional = json_is_true(json_object_get(sec, "optional"));
	json_t *items = json_object_get(sec, "items");
	int dmode = vol_mode(sec, "defaultMode", 0644);
	json_t *files = json_object();
	const char *key;
	json_t *v;
	size_t i;

	if (dmode < 0) {
		snprintf(why, n,
			 "volume %.60s: secret.defaultMode must be a mode "
			 "between 0 and 0777",
			 vname);
		goto fail;
	}
	if (json_array_size(items) == 0) {
		json_object_foreach(data, key, v)
		{
			if (!json_is_string(v) || !vol_rel_ok(key)) {
				snprintf(why, n,
					 "volume %.60s: Secret %.60s key "
					 "%.60s is not base64 or cannot be a "
					 "file name",
					 vname, sname, key);
				goto fail;
			}
			json_object_set_new(
			    files, key,
			    json_pack("{s:s, s:i}", "key", key, "mode", dmode));
		}
		return files;
	}
	json_array_foreach(items, i, v)
	{
		const char *ikey = jstr(v, "key");
		const char *path = jstr(v, "path");
		int mode = vol_mode(v, "mode", dmode);

		if (ikey == NULL || path == NULL) {
			snprintf(why, n,
				 "volume %.60s: secret.items[%zu] needs a key "
				 "and a path",
				 vname, i);
			goto fail;
		}
		if (!vol_rel_ok(path)) {
			snprintf(why, n,
				 "volume %.60s: secret.items[%zu].path "
				 "\"%.60s\" must be a relative path without "
				 "'..' (it would leave the volume)",
				 vname, i, path);
			goto fail;
		}
		if (mode < 0) {
			snprintf(why, n,
				 "volume %.60s: secret.items[%zu].mode must "
				 "be a mode between 0 and 0777",
				 vname, i);
			goto fail;
		}
		if (jstr(data, ikey) == NULL) {
			if (optional) {
				continue;
			}
			snprintf(why, n,
				 "volume %.60s: Secret %.60s has no key %.60s "
				 "(secret.items[%zu])",
				 vname, sname, ikey, i);
			goto fail;
		}
		json_object_set_new(
		    files, path,
		    json_pack("{s:s, s:i}", "key", ikey, "mode", mode));
	}
	return files;
fail:
	json_decref(files);
	return NULL;
}

/* True if some path of FILES lies below directory REL. */
static bool files_below(json_t *files, const char *rel)
{
	size_t n = strlen(rel);
	const char *k;
	json_t *v;

	json_object_foreach(files, k, v)
	{
		if (strncmp(k, rel, n) == 0 && k[n] == '/') {
			return true;
		}
	}
	return false;
}

/* Removes from secret volume directory ROOT (below REL) whatever FILES does
 * not name: the file of a key dropped from the Secret or from items, a temp
 * file a crash left, a directory where a file goes now. */
static void secret_prune(const char *root, const char *rel, json_t *files,
			 int depth)
{
	char dir[POD_PATH_MAX + 600];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof dir, "%s%s%s", root, rel[0] != '\0' ? "/" : "",
		 rel);
	d = opendir(dir);
	if (d == NULL) {
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char crel[600];
		char path[sizeof dir + 300];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0) {
			continue;
		}
		snprintf(crel, sizeof crel, "%s%s%s", rel,
			 rel[0] != '\0' ? "/" : "", de->d_name);
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (lstat(path, &st) != 0) {
			continue;
		}
		if (S_ISREG(st.st_mode) && json_object_get(files, crel)) {
			continue; /* rewritten if it changed */
		}
		if (S_ISDIR(st.st_mode) && depth < SECRET_DEPTH &&
		    files_below(files, crel)) {
			secret_prune(root, crel, files, depth + 1);
		} else if (S_ISDIR(st.st_mode)) {
			rm_rf(path);
		} else {
			unlink(path);
		}
	}
	closedir(d);
}

/* True if PATH is a regular file that holds exactly BUF (N bytes), MODE. */
static bool file_same(const char *path, const unsigned char *buf, size_t n,
		      mode_t mode)
{
	unsigned char chunk[4096];
	struct stat st;
	size_t off = 0;
	bool same;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		return false;
	}
	same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	       (size_t)st.st_size == n && (st.st_mode & 07777) == mode;
	while (same && off < n) {
		ssize_t r = read(fd, chunk, sizeof chunk);
		same = r > 0 && (size_t)r <= n - off &&
		       memcmp(chunk, buf + off, (size_t)r) == 0;
		off += same ? (size_t)r : 0;
	}
	close(fd);
	return same;
}

/* BUF (N bytes) into PATH with MODE, atomically: TMP (on the same file
 * system) is written, then renamed over PATH, so a reader sees the old
 * content or the new, never a part. 0 or an errno value. */
static int file_write_atomic(const char *path, const char *tmp,
			     const unsigned char *buf, size_t n, mode_t mode)
{
	size_t off = 0;
	bool ok = true;
	int fd, err = 0;

	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		return errno;
	}
	while (ok && off < n) {
		ssize_t w = write(fd, buf + off, n - off);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		ok = w > 0;
		off += ok ? (size_t)w : 0;
	}
	if (!ok || fchmod(fd, mode) != 0) {
		ok = false;
		err = errno != 0 ? errno : EIO;
	}
	if (close(fd) != 0 && ok) {
		ok = false;
		err = errno;
	}
	if (ok && rename(tmp, path) != 0) {
		ok = false;
		err = errno;
	}
	if (!ok) {
		unlink(tmp);
	}
	return ok ? 0 : err;
}

/* Makes DIR the content of secret volume VOL for the Secret's DATA (NULL:
 * an optional Secret that does not exist). 0, or -1 with WHY saying what
 * and why. */
static int secret_vol_write(json_t *vol, json_t *data, const char *dir,
			    char *why, size_t n)
{
	const char *vname = jstr(vol, "name");
	const char *sname = jpath(vol, "secret", "secretName");
	json_t *files = secret_files(vol, data, why, n);
	char tmp[POD_PATH_MAX + 320];
	const char *rel;
	json_t *f;
	int rv = 0;

	if (files == NULL) {
		return -1;
	}
	if (mkdir_p(dir, 0755) != 0) {
		snprintf(why, n, "volume %.60s: cannot create %.120s: %s",
			 vname, dir, strerror(errno));
		json_decref(files);
		return -1;
	}
	secret_prune(dir, "", files, 0);
	snprintf(tmp, sizeof tmp, "%s/" SECRET_TMP, dir);
	json_object_foreach(files, rel, f)
	{
		const char *key = jstr(f, "key");
		const char *raw = jstr(data, key);
		mode_t mode =
		    (mode_t)json_integer_value(json_object_get(f, "mode"));
		size_t len = raw != NULL ? strlen(raw) : 0, dlen = 0;
		char path[POD_PATH_MAX + 600];
		unsigned char *buf = malloc(b64_max(len) + 1);
		int err = 0;

		snprintf(path, sizeof path, "%s/%s", dir, rel);
		if (buf == NULL) {
			err = ENOMEM;
		} else if (raw == NULL ||
			   b64_decode(raw, len, buf, b64_max(len), &dlen) !=
			       0) {
			snprintf(why, n,
				 "volume %.60s: Secret %.60s key %.60s: bad "
				 "base64",
				 vname, sname, key);
			free(buf);
			rv = -1;
			break;
		} else if (strchr(rel, '/') != NULL) {
			char parent[sizeof path];
			snprintf(parent, sizeof parent, "%s", path);
			*strrchr(parent, '/') = '\0';
			err = mkdir_p(parent, 0755) != 0 ? errno : 0;
		}
		if (err == 0 && !file_same(path, buf, dlen, mode)) {
			err = file_write_atomic(path, tmp, buf, dlen, mode);
		}
		free(buf);
		if (err != 0) {
			snprintf(why, n, "volume %.60s: cannot write %.80s: %s",
				 vname, rel, strerror(err));
			rv = -1;
			break;
		}
	}
	json_decref(files);
	return rv;
}

/* The Secret of secret volume VOL came back (STATUS): its directory is
 * filled, then the next volume; a Secret that is missing and not optional
 * holds the pod back, as an unbound claim does. */
void vol_secret_done(struct pod *p, json_t *vol, struct baton_kube_request *req,
		     int status)
{
	const char *vname = jstr(vol, "name");
	const char *sname = jpath(vol, "secret", "secretName");
	bool optional = json_is_true(
	    json_object_get(json_object_get(vol, "secret"), "optional"));
	char dir[POD_PATH_MAX + 300];
	char why[256];

	if (status == BATON_ENOTFOUND && !optional) {
		snprintf(why, sizeof why,
			 "volume %.60s: Secret %.100s not found (the pod "
			 "waits for it: the volume is not optional)",
			 vname, sname);
	} else if (status != 0 && status != BATON_ENOTFOUND) {
		snprintf(why, sizeof why, "volume %.40s: Secret %.60s: %.130s",
			 vname, sname, req->errmsg);
	} else {
		snprintf(dir, sizeof dir, "%s/volumes/%s", p->dir, vname);
		if (secret_vol_write(vol,
				     status == 0
					 ? json_object_get(req->result, "data")
					 : NULL,
				     dir, why, sizeof why) == 0) {
			vol_set(p, vname, dir);
			vol_next(p);
			return;
		}
	}
	p->state = PS_NEW;
	pod_retry(p, why);
}

static void secret_refresh_next(struct pod *p);

static void secret_refresh_cb(struct baton_kube_request *req, int status)
{
	struct pod *p = req->data;
	json_t *vol = json_array_get(
	    json_object_get(json_object_get(p->obj, "spec"), "volumes"),
	    p->sec_i);
	const char *vname = jstr(vol, "name");
	const char *sname = jpath(vol, "secret", "secretName");
	bool optional = json_is_true(
	    json_object_get(json_object_get(vol, "secret"), "optional"));
	char dir[POD_PATH_MAX + 300];
	char why[256] = "";

	p->vreq_busy = false;
	if (p->state == PS_GONE) {
		pod_maybe_free(p);
		return;
	}
	if (p->state != PS_RUNNING || vname == NULL || sname == NULL) {
		return; /* stopping: the directory goes with the pod host */
	}
	if (status == 0 || (status == BATON_ENOTFOUND && optional)) {
		snprintf(dir, sizeof dir, "%s/volumes/%s", p->dir, vname);
		secret_vol_write(
		    vol,
		    status == 0 ? json_object_get(req->result, "data") : NULL,
		    dir, why, sizeof why);
	} else if (status == BATON_ENOTFOUND) {
		snprintf(why, sizeof why,
			 "volume %.60s: Secret %.100s not found; its files "
			 "are kept",
			 vname, sname);
	} else {
		snprintf(why, sizeof why, "volume %.40s: Secret %.60s: %.130s",
			 vname, sname, req->errmsg);
	}
	if (strcmp(why, p->sec_err) != 0) {
		if (why[0] != '\0') {
			pod_log(p, BATON_LOG_WARN,
				"cannot refresh a secret volume",
				json_pack("{s:s}", "error", why));
		}
		snprintf(p->sec_err, sizeof p->sec_err, "%s", why);
	}
	p->sec_i++;
	secret_refresh_next(p);
}

/* GETs the Secret of the next secret volume from sec_i on. */
static void secret_refresh_next(struct pod *p)
{
	json_t *vols =
	    json_object_get(json_object_get(p->obj, "spec"), "volumes");

	for (; p->sec_i < json_array_size(vols); p->sec_i++) {
		json_t *vol = json_array_get(vols, p->sec_i);
		struct baton_kube_ref ref = {
		    .version = "v1",
		    .resource = "secrets",
		    .ns = p->ns,
		    .name = jpath(vol, "secret", "secretName")};
		if (ref.name == NULL || jstr(vol, "name") == NULL) {
			continue;
		}
		p->vreq.data = p;
		if (baton_kube_get(&p->lk->kube, &p->vreq, &ref,
				   secret_refresh_cb) == 0) {
			p->vreq_busy = true;
		}
		return;
	}
}

/* Every heartbeat: the secret volumes of running pods follow their
 * Secrets (a rotated certificate, a dropped key). */
void secrets_refresh(struct lk *lk)
{
	for (struct pod *p = lk->pods; p != NULL; p = p->next) {
		if (p->state == PS_RUNNING && !p->vreq_busy &&
		    !pod_want_stop(p)) {
			p->sec_i = 0;
			secret_refresh_next(p);
		}
	}
}
