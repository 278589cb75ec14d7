package deploy

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/slipwayhq/slipway/deploy/engine"
)

// VersionInfo is one of an app's release containers on one host: the
// version the host runs, or one it retains to roll back to.
type VersionInfo struct {
	Host      string
	Role      string
	Version   string
	Container string
	// Image is the image reference the container was created from.
	Image   string
	State   engine.State
	Created time.Time
}

// Running reports whether the container is up.
func (v VersionInfo) Running() bool { return v.State == engine.StateRunning }

// Versions lists every release container of the app (this destination's)
// on every host, running or stopped: hosts in the app's order, then roles
// primary first, then newest first.
func (s *Session) Versions(ctx context.Context) (_ []VersionInfo, err error) {
	defer s.redactErr(&err)
	hosts := s.app.HostNames()
	per := make([][]VersionInfo, len(hosts))
	err = s.onHosts(hosts, func(i int, h *hostConn) error {
		cs, err := s.appContainers(ctx, h)
		if err != nil {
			return fmt.Errorf("versions: %w", err)
		}
		for _, c := range cs {
			per[i] = append(per[i], versionInfo(h.name, c))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return slices.Concat(per...), nil
}

func versionInfo(host string, c engine.Container) VersionInfo {
	return VersionInfo{Host: host, Role: c.Labels[LabelRole], Version: c.Labels[LabelVersion],
		Container: c.Name, Image: c.Image, State: c.State, Created: c.Created}
}

// RetainedVersions returns the versions whose container is on every host
// of every role of a — the versions Rollback accepts, the running one
// included — newest first.
func RetainedVersions(a App, versions []VersionInfo) []string {
	type place struct{ host, role string }
	found := map[string]map[place]bool{}
	newest := map[string]time.Time{}
	for _, v := range versions {
		if found[v.Version] == nil {
			found[v.Version] = map[place]bool{}
		}
		found[v.Version][place{v.Host, v.Role}] = true
		if v.Created.After(newest[v.Version]) {
			newest[v.Version] = v.Created
		}
	}
	var out []string
	for version, at := range found {
		everywhere := true
		for _, role := range a.roleNames() {
			for _, srv := range a.Roles[role].Servers {
				everywhere = everywhere && at[place{srv.Host, role}]
			}
		}
		if everywhere {
			out = append(out, version)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !newest[out[i]].Equal(newest[out[j]]) {
			return newest[out[i]].After(newest[out[j]])
		}
		return out[i] < out[j]
	})
	return out
}

// PrintVersions writes versions as a table, one row per host, role and
// version, then the versions retained on every host of a.
func PrintVersions(w io.Writer, a App, versions []VersionInfo) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tROLE\tVERSION\tSTATE\tCREATED")
	for _, v := range versions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.Host, v.Role, v.Version, v.State, v.Created.UTC().Format(timeLayout))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	retained := RetainedVersions(a, versions)
	if len(retained) == 0 {
		retained = []string{"none"}
	}
	_, err := fmt.Fprintf(w, "Retained on every host: %s\n", strings.Join(retained, ", "))
	return err
}
