package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MinimumVersion is the oldest Docker Engine release Slipway supports.
// Copying files into a container (CopyTo) goes through the engine's
// archive endpoint, which runs on the host with the engine's privileges
// and has had host-side advisories: a symlink-exchange race that let a
// container redirect the copy onto host paths (CVE-2018-15664, fixed in
// 19.03.1), a copy that loaded libraries from the container
// (CVE-2019-14271, fixed in 19.03.1), and a copy that could chmod host
// files (CVE-2021-41089, fixed in 20.10.9). 20.10.9 has all three fixes
// and speaks API 1.41, the newest this package uses.
const MinimumVersion = "20.10.9"

// ErrEngineTooOld means a host's engine is older than MinimumVersion, or
// reports a release Slipway cannot read as a version.
var ErrEngineTooOld = errors.New("docker engine older than Slipway supports")

// Check returns nil when the engine's release is MinimumVersion or newer,
// and otherwise an error that matches ErrEngineTooOld and says what to do.
// Distribution suffixes are ignored ("20.10.24+dfsg1" is 20.10.24); a
// pre-release counts as its release.
func (v Version) Check() error {
	have, ok := parseRelease(v.Server)
	if !ok {
		return fmt.Errorf("%w: cannot read %q as a release such as %s; run Docker Engine %s or newer", ErrEngineTooOld, v.Server, MinimumVersion, MinimumVersion)
	}
	want, _ := parseRelease(MinimumVersion)
	for i := range want {
		if have[i] != want[i] {
			if have[i] < want[i] {
				return fmt.Errorf("%w: %s is older than %s, which has the fixes for the archive endpoint copying files into containers uses; upgrade Docker Engine", ErrEngineTooOld, v.Server, MinimumVersion)
			}
			return nil
		}
	}
	return nil
}

// parseRelease reads "major.minor[.patch]" from the start of s, after an
// optional "v".
func parseRelease(s string) ([3]int, bool) {
	var r [3]int
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	if i := strings.IndexFunc(s, func(c rune) bool { return (c < '0' || c > '9') && c != '.' }); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(strings.TrimSuffix(s, "."), ".")
	if len(parts) < 2 || len(parts) > 3 {
		return r, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return r, false
		}
		r[i] = n
	}
	return r, true
}

// CheckVersion asks the engine for its release and checks it against
// MinimumVersion; the error names the host.
func (e *Engine) CheckVersion(ctx context.Context) (Version, error) {
	v, err := e.Version(ctx)
	if err != nil {
		return v, err
	}
	if err := v.Check(); err != nil {
		return v, fmt.Errorf("docker engine on %s: %w", e.host, err)
	}
	return v, nil
}
