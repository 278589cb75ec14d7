package deploy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// MaxVersionLen is the longest Release.Version: a version becomes an
// image tag, and Docker allows tags of at most 128 characters.
const MaxVersionLen = 128

// Release is one version of an app: what a deploy rolls out and a
// rollback returns to.
type Release struct {
	// Version names the release in container names, labels and image
	// tags: letters, digits, "_", "." and "-", at most MaxVersionLen.
	// GitVersion gives the usual one.
	Version string
	// Image is the full image reference to run, such as
	// "ghcr.io/acme/hello:v42" or one with a digest; "" means the App's
	// Image tagged with Version.
	Image string
	// Secrets are the keyed digests of the app's secret values (see
	// DigestSecrets), which the plan compares with the containers' to
	// replace those whose secrets were rotated. Session.Deploy and
	// Session.Rollback fill it with the app's key; a plan test sets it by
	// hand to simulate a rotation. A secret it lacks is not compared.
	Secrets SecretDigests
}

// ImageRef returns the image reference the release runs: r.Image, or
// a.Image tagged with r.Version.
func (r Release) ImageRef(a App) string {
	if r.Image != "" {
		return r.Image
	}
	return a.Image + ":" + r.Version
}

// Validate returns nil or a *ValidationError listing every problem with
// the release.
func (r Release) Validate() error {
	var v validator
	switch {
	case r.Version == "":
		v.add("version", "must not be empty; use GitVersion or set one, such as \"v42\"")
	case len(r.Version) > MaxVersionLen:
		v.addf("version", "must be at most %d characters, got %d", MaxVersionLen, len(r.Version))
	case strings.ContainsFunc(r.Version, func(c rune) bool { return !isVersionChar(c) }):
		v.addf("version", "must be letters, digits, \"_\", \".\" and \"-\" (it becomes an image tag and part of container names), got %q", r.Version)
	case r.Version[0] == '.' || r.Version[0] == '-':
		v.addf("version", "must start with a letter, digit or \"_\", got %q", r.Version)
	}
	if r.Image != "" && strings.ContainsFunc(r.Image, isSpaceOrControl) {
		v.addf("image", "must be an image reference without spaces, got %q", r.Image)
	}
	return v.err()
}

func isVersionChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// gitVersionLen is how much of the commit hash GitVersion keeps.
const gitVersionLen = 12

// GitVersion returns the version of the working tree at dir: the first 12
// characters of HEAD's commit, with "-dirty-" and a short hash of the
// changes appended when git status shows changes to tracked files or
// untracked files (ignored files do not count), such as
// "0123456789ab-dirty-5f3c2a1b". The hash covers `git diff HEAD` and the
// untracked files' names and contents, so each distinct dirty tree is a
// version of its own (two deploys of different edits no longer share a
// name) and the same dirty tree twice is the same version (nothing to
// deploy). It fails when dir is not in a git repository or the
// repository has no commit yet.
func GitVersion(ctx context.Context, dir string) (string, error) {
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("git version of %s: %w", dir, err)
	}
	if _, err := git(ctx, dir, "rev-parse", "--git-dir"); err != nil {
		if strings.Contains(err.Error(), "not a git repository") {
			return "", fmt.Errorf("git version of %s: not in a git repository; run git init and commit, or give the version yourself (mage deploy -version=..., or Release.Version in Go)", dir)
		}
		return "", fmt.Errorf("git version of %s: %w", dir, err)
	}
	head, err := git(ctx, dir, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
	if err != nil {
		return "", fmt.Errorf("git version of %s: the repository has no commit yet; commit first, or give the version yourself (mage deploy -version=..., or Release.Version in Go)", dir)
	}
	if len(head) < gitVersionLen {
		return "", fmt.Errorf("git version of %s: unexpected commit hash %q", dir, head)
	}
	version := head[:gitVersionLen]
	status, err := git(ctx, dir, "status", "--porcelain", "--untracked-files=normal")
	if err != nil {
		return "", fmt.Errorf("git version of %s: status: %w", dir, err)
	}
	if status != "" {
		sum, err := dirtyHash(ctx, dir)
		if err != nil {
			return "", fmt.Errorf("git version of %s: %w", dir, err)
		}
		version += "-dirty-" + sum
	}
	return version, nil
}

// dirtyLen is how many hex digits of the changes' hash a dirty version keeps.
const dirtyLen = 8

// dirtyHash hashes the uncommitted changes of the repository at dir:
// the diff of the tracked files against HEAD, then each untracked file's
// path and content (a symbolic link's target), in git's order.
func dirtyHash(ctx context.Context, dir string) (string, error) {
	top, err := git(ctx, dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	diff, err := git(ctx, top, "diff", "HEAD", "--binary", "--no-color", "--no-ext-diff")
	if err != nil {
		return "", err
	}
	h.Write([]byte(diff))
	untracked, err := git(ctx, top, "ls-files", "--others", "--exclude-standard", "-z")
	if err != nil {
		return "", err
	}
	for _, name := range strings.Split(untracked, "\x00") {
		if name == "" {
			continue
		}
		fmt.Fprintf(h, "\x00%s\x00", name)
		path := filepath.Join(top, name)
		fi, err := os.Lstat(path)
		switch {
		case err != nil:
			return "", fmt.Errorf("untracked file %s: %w", name, err)
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return "", err
			}
			h.Write([]byte(target))
		case fi.Mode().IsRegular():
			f, err := os.Open(path)
			if err != nil {
				return "", fmt.Errorf("untracked file %s: %w", name, err)
			}
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return "", fmt.Errorf("untracked file %s: %w", name, err)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:dirtyLen], nil
}

// git runs git in dir and returns its trimmed stdout; an error carries
// git's stderr.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", fmt.Errorf("git %s: %w: %s", args[0], err, msg)
		}
		return "", fmt.Errorf("git %s: %w", args[0], err)
	}
	return strings.TrimSpace(stdout.String()), nil
}
