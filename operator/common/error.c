#include "error.h"

#include <stdarg.h>
#include <stdio.h>

static const struct {
	const char *name;
	const char *text;
} errors[BATON_E_COUNT] = {
    [BATON_OK] = {"BATON_OK", "success"},
    [BATON_ENOMEM] = {"BATON_ENOMEM", "out of memory"},
    [BATON_EINVAL] = {"BATON_EINVAL", "invalid argument"},
    [BATON_EPARSE] = {"BATON_EPARSE", "malformed input"},
    [BATON_ETOOLARGE] = {"BATON_ETOOLARGE", "input exceeds its size limit"},
    [BATON_EIO] = {"BATON_EIO", "I/O error"},
    [BATON_ECONFIG] = {"BATON_ECONFIG", "invalid configuration"},
    [BATON_ETLS] = {"BATON_ETLS", "TLS error"},
    [BATON_ECONN] = {"BATON_ECONN", "connection failed"},
    [BATON_ETIMEDOUT] = {"BATON_ETIMEDOUT", "timed out"},
    [BATON_ECANCELED] = {"BATON_ECANCELED", "cancelled"},
    [BATON_ENOTFOUND] = {"BATON_ENOTFOUND", "not found"},
    [BATON_ECONFLICT] = {"BATON_ECONFLICT", "conflict"},
    [BATON_EEXIST] = {"BATON_EEXIST", "already exists"},
    [BATON_EGONE] = {"BATON_EGONE", "resource version expired"},
    [BATON_EFORBIDDEN] = {"BATON_EFORBIDDEN", "unauthorized or forbidden"},
    [BATON_EINVALIDOBJ] = {"BATON_EINVALIDOBJ", "object rejected as invalid"},
    [BATON_ETHROTTLED] = {"BATON_ETHROTTLED", "throttled by the server"},
    [BATON_ESERVER] = {"BATON_ESERVER", "server error"},
    [BATON_ENOTLEADER] = {"BATON_ENOTLEADER", "not the Raft leader"},
    [BATON_ESTALE] = {"BATON_ESTALE", "stale epoch"},
    [BATON_EBUSY] = {"BATON_EBUSY", "busy"},
    [BATON_ESHUTDOWN] = {"BATON_ESHUTDOWN", "shutting down"},
    [BATON_EENGINE] = {"BATON_EENGINE", "database engine error"},
    [BATON_EINTERNAL] = {"BATON_EINTERNAL", "internal error"},
};

const char *baton_strerror(int code)
{
	if (code < 0 || code >= BATON_E_COUNT || errors[code].text == NULL) {
		return "unknown error";
	}
	return errors[code].text;
}

const char *baton_errname(int code)
{
	if (code < 0 || code >= BATON_E_COUNT || errors[code].name == NULL) {
		return "BATON_E?";
	}
	return errors[code].name;
}

void baton_errmsg_printf(char *errmsg, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errmsg, BATON_ERRMSG_SIZE, fmt, ap);
	va_end(ap);
}
