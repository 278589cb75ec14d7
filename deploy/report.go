package deploy

import (
	"fmt"
	"strings"
)

// HostError is one host's failure in an operation that ran on several
// hosts at once. It unwraps to the host's own error, so errors.Is and
// errors.As reach a sentinel such as ErrGateFailed through it.
type HostError struct {
	// Host is the host as the app names it; "" for work on this machine
	// (a local image build).
	Host string
	// Err is why the host failed; its text does not repeat the host.
	Err error
}

// Error is the host, then its reason: "203.0.113.10: gate: …".
func (e *HostError) Error() string {
	if e.Host == "" {
		return e.Err.Error()
	}
	return e.Host + ": " + e.Err.Error()
}

// Unwrap returns the host's own error.
func (e *HostError) Unwrap() error { return e.Err }

// HostsError is the failure of an operation on some of the hosts it ran
// on: one *HostError per failed host, in the operation's order of hosts
// (the app's, or the batch's), not the order they failed in. Its message
// groups the hosts that failed for the same reason, so thirty hosts that
// could not be reached read as one line, not thirty. errors.Is and
// errors.As see every host's error through Unwrap.
type HostsError struct {
	// Hosts is how many hosts the operation ran on, the failed ones and
	// the others.
	Hosts int
	// Errs holds the failed hosts' errors, in the operation's order.
	Errs []*HostError
}

// Error is the one host's error when one failed; otherwise "N of M hosts
// failed:" and a line per reason, naming its hosts (see Groups).
func (e *HostsError) Error() string {
	if len(e.Errs) == 1 {
		return e.Errs[0].Error()
	}
	return fmt.Sprintf("%d of %d hosts failed:\n%s", len(e.Errs), e.Hosts, formatGroups(e.Groups(), "  "))
}

// Unwrap returns every failed host's *HostError, for errors.Is and
// errors.As.
func (e *HostsError) Unwrap() []error {
	out := make([]error, len(e.Errs))
	for i, he := range e.Errs {
		out[i] = he
	}
	return out
}

// FailureGroup is the hosts that failed for one reason.
type FailureGroup struct {
	// Hosts are the hosts, in the operation's order of hosts.
	Hosts []string
	// Reason is the hosts' error. Its first line is the same on each of
	// them; when the group holds more than one host, each host's own name
	// in it reads HostPlaceholder, the one way their first lines differed
	// ("connect to root@<host>:22: …"). Its later lines, when it has any,
	// are the same on every host too, unless Varies.
	Reason string
	// Varies says the hosts' errors differ after their first line (a
	// failed gate's container log lines, with their times); Reason's
	// later lines are then those of Hosts[0], and each host's own are in
	// its *HostError and in its step line of the output.
	Varies bool
}

// HostPlaceholder stands for each host's own name in the reason of a
// FailureGroup of several hosts.
const HostPlaceholder = "<host>"

// Groups returns the failed hosts grouped by reason, in the order each
// reason first failed a host. Two hosts failed for the same reason when
// the first lines of their errors are equal once each host's own name in
// its error is read as HostPlaceholder: the first line says what failed
// (connect, a gate, a missing image), the lines after it are
// diagnostics, which may differ by a timestamp from host to host.
func (e *HostsError) Groups() []FailureGroup {
	type group struct {
		FailureGroup
		first    string // Hosts[0]'s reason, verbatim
		same     string // the reason with each host as HostPlaceholder, while every host's agrees
		headline string
	}
	var groups []*group
	index := map[string]*group{}
	for _, he := range e.Errs {
		reason := he.Err.Error()
		general := withoutHost(reason, he.Host)
		headline, _, _ := strings.Cut(general, "\n")
		g, ok := index[headline]
		if !ok {
			g = &group{FailureGroup: FailureGroup{Hosts: []string{he.Host}}, first: reason, same: general, headline: headline}
			index[headline] = g
			groups = append(groups, g)
			continue
		}
		g.Hosts = append(g.Hosts, he.Host)
		if general != g.same {
			g.Varies = true
		}
	}
	out := make([]FailureGroup, len(groups))
	for i, g := range groups {
		switch {
		case len(g.Hosts) == 1:
			g.Reason = g.first
		case !g.Varies:
			g.Reason = g.same
		default:
			_, details, _ := strings.Cut(g.first, "\n")
			g.Reason = g.headline + "\n" + details
		}
		out[i] = g.FailureGroup
	}
	return out
}

// formatGroups writes a line per group, "h1, h2: reason", each after
// prefix; a reason's later lines are indented under its first, and when
// they vary from host to host, say whose they are.
func formatGroups(groups []FailureGroup, prefix string) string {
	var b strings.Builder
	for i, g := range groups {
		if i > 0 {
			b.WriteByte('\n')
		}
		hosts := strings.Join(g.Hosts, ", ")
		if hosts == "" {
			hosts = "this machine"
		}
		first, rest, _ := strings.Cut(g.Reason, "\n")
		b.WriteString(prefix + hosts + ": " + first)
		if rest == "" {
			continue
		}
		if g.Varies {
			b.WriteString("\n" + prefix + "  as on " + g.Hosts[0] + ":")
			rest = indent(rest, "  ")
		}
		b.WriteString("\n" + indent(rest, prefix+"  "))
	}
	return b.String()
}

// withoutHost is reason with each whole-word occurrence of host read as
// HostPlaceholder: host "h1" is replaced in "on h1:" but not in "h12".
func withoutHost(reason, host string) string {
	if host == "" {
		return reason
	}
	var b strings.Builder
	for {
		i := strings.Index(reason, host)
		if i < 0 {
			b.WriteString(reason)
			return b.String()
		}
		end := i + len(host)
		if hostBoundary(reason, i-1, -1) && hostBoundary(reason, end, +1) {
			b.WriteString(reason[:i] + HostPlaceholder)
		} else {
			b.WriteString(reason[:end])
		}
		reason = reason[end:]
	}
}

// hostBoundary says whether reason[i] (which may be out of range) ends a
// host name that runs the other way from dir: not a letter, digit or
// dash, and not a dot that goes on into more of a name ("h1.example").
func hostBoundary(reason string, i, dir int) bool {
	if i < 0 || i >= len(reason) {
		return true
	}
	c := reason[i]
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		return false
	case c == '.':
		return hostBoundary(reason, i+dir, dir) // a full stop ends it; "h1.lab" goes on
	}
	return true
}

// hostsError returns nil when errs holds no error, and otherwise a
// *HostsError of the hosts whose errs[i] is not nil.
func hostsError(hosts []string, errs []error) error {
	he := &HostsError{Hosts: len(hosts)}
	for i, err := range errs {
		if err == nil {
			continue
		}
		if x, ok := err.(*HostError); ok && x.Host == hosts[i] {
			he.Errs = append(he.Errs, x)
			continue
		}
		he.Errs = append(he.Errs, &HostError{Host: hosts[i], Err: err})
	}
	if len(he.Errs) == 0 {
		return nil
	}
	return he
}
