/* batonctl's fleet file: the regions named once, so that no command needs
 * region flags.
 *
 *   # ~/.config/baton/fleet.yaml
 *   kubeconfig: ~/.kube/prod.yaml     # optional: every region's, unless
 *                                     # it names its own ($KUBECONFIG or
 *                                     # ~/.kube/config when absent)
 *   regions:
 *     eu-west:
 *       context: prod-eu-west         # a context of that kubeconfig
 *       batond: https://198.18.0.11:8080
 *     us-east:
 *       context: prod-us-east
 *     ap-south:
 *       kubeconfig: ap-south.kubeconfig  # relative to this file
 *
 * Each region has a kubeconfig, a context or a batond URL (any of them);
 * without a context, the kubeconfig's current-context. Paths may start
 * with "~/"; others are relative to the fleet file's directory.
 *
 * Parsed with libyaml's document API (not common/yamljson) so that every
 * error says FILE:LINE: a typo in a key ("contxt") is an error, not a
 * region silently reached through the wrong context.
 */
#ifndef BATON_BATONCTL_FLEETFILE_H
#define BATON_BATONCTL_FLEETFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "batonctl/fleet.h"
#include "common/error.h"

/* Cap for the file (it names at most BATON_CTL_MAX_REGIONS regions). */
#define BATON_CTL_FLEETFILE_MAX (64 * 1024)

struct baton_ctl_fleetfile_region {
	char name[BATON_CTL_NAME_SIZE];
	char *kubeconfig; /* NULL: $KUBECONFIG, else ~/.kube/config */
	char *context;	  /* NULL: the kubeconfig's current-context */
	char *batond;	  /* NULL: none */
	int line;
};

struct baton_ctl_fleetfile {
	struct baton_ctl_fleetfile_region regions[BATON_CTL_MAX_REGIONS];
	size_t n;
	char errmsg[BATON_ERRMSG_SIZE];
};

/* Parses TEXT (NAME in messages, relative paths against BASE_DIR).
 * BATON_ECONFIG ("NAME:LINE: what"), BATON_ENOMEM; nothing to free on
 * error. */
int baton_ctl_fleetfile_parse(struct baton_ctl_fleetfile *ff, const char *text,
			      size_t len, const char *name,
			      const char *base_dir);

/* Reads and parses PATH (BATON_EIO: cannot be read, errno kept). */
int baton_ctl_fleetfile_load(struct baton_ctl_fleetfile *ff, const char *path);

/* Which fleet file applies: $BATON_FLEET (*EXPLICIT set), else
 * ${XDG_CONFIG_HOME:-$HOME/.config}/baton/fleet.yaml. -1 when there is no
 * HOME to look in. */
int baton_ctl_fleetfile_default(char *out, size_t len, bool *explicit);

void baton_ctl_fleetfile_free(struct baton_ctl_fleetfile *ff);

#endif /* BATON_BATONCTL_FLEETFILE_H */
