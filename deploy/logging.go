package deploy

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults of Logging: Kamal's, the engine's own json-file driver with
// each container's log file capped at 10 MB, so a chatty app cannot fill
// a server's disk.
const (
	DefaultLogDriver  = "json-file"
	DefaultLogMaxSize = "10m"
)

// Logging chooses where a container's output goes: the engine's log
// driver and its options (docker run's --log-driver and --log-opt). It
// is set on the App, and on a Role or an Accessory over the App's: a
// driver set there replaces the App's (and with it the App's options,
// which belong to the other driver); options are merged key by key.
//
// The zero value means DefaultLogDriver with max-size DefaultLogMaxSize.
// The json-file and local drivers always get a max-size: options that
// leave it out (max-file alone, say) get DefaultLogMaxSize, so logs stay
// bounded; set "max-size" to choose another cap. The engine reads sizes
// in decimal units ("10m" is 10,000,000 bytes) and rotates a file
// before the write that would take it past max-size. With max-file left
// out (1) a container's logs take the file being written and one rotated
// file: at most about twice max-size on the host (measured on Docker
// 20.10: 50 MB written under max-size=1m left 0.93 MB and 1.00 MB).
type Logging struct {
	// Driver is the engine's log driver, such as "json-file", "local",
	// "journald" or "syslog"; "" means the App's, else DefaultLogDriver.
	Driver string
	// Options are the driver's options, such as "max-size": "50m" and
	// "max-file": "3" for json-file, or "tag" for syslog.
	Options map[string]string
}

// sizedDrivers are the log drivers that write files on the host and take
// max-size.
var sizedDrivers = []string{"json-file", "local"}

// over is l with inner set over it: inner's driver, when set, replaces
// l's and drops l's options unless it names the same driver.
func (l Logging) over(inner Logging) Logging {
	out := Logging{Driver: l.Driver, Options: maps.Clone(l.Options)}
	if inner.Driver != "" && inner.Driver != l.Driver {
		out = Logging{Driver: inner.Driver}
	}
	if len(inner.Options) > 0 && out.Options == nil {
		out.Options = map[string]string{}
	}
	maps.Copy(out.Options, inner.Options)
	return out
}

// resolved is l with the defaults applied: the driver the engine is
// given, and a max-size for a driver that writes files.
func (l Logging) resolved() Logging {
	out := Logging{Driver: orDefault(l.Driver, DefaultLogDriver), Options: maps.Clone(l.Options)}
	if slices.Contains(sizedDrivers, out.Driver) && out.Options["max-size"] == "" {
		if out.Options == nil {
			out.Options = map[string]string{}
		}
		out.Options["max-size"] = DefaultLogMaxSize
	}
	return out
}

// isDefault reports whether l, resolved, is DefaultLogDriver with
// DefaultLogMaxSize and nothing else.
func (l Logging) isDefault() bool {
	r := l.resolved()
	return r.Driver == DefaultLogDriver && len(r.Options) == 1 && r.Options["max-size"] == DefaultLogMaxSize
}

// String prints the driver and its options, sorted: "json-file max-size=50m max-file=3".
func (l Logging) String() string {
	parts := []string{orDefault(l.Driver, DefaultLogDriver)}
	for _, k := range sortedKeys(l.Options) {
		parts = append(parts, k+"="+l.Options[k])
	}
	return strings.Join(parts, " ")
}

// logging is the Logging of the containers of role, or of the accessory
// of that name, resolved: what the engine is given.
func (a App) logging(name string) Logging {
	l := a.Logging
	if r, ok := a.Roles[name]; ok {
		l = l.over(r.Logging)
	} else if acc, ok := a.Accessories[name]; ok {
		l = l.over(acc.Logging)
	}
	return l.resolved()
}

// loggingNote is the Logging the plan shows on a step for name's
// containers: nil when it is the default, to keep the print short.
func (a App) loggingNote(name string) *Logging {
	l := a.logging(name)
	if l.isDefault() {
		return nil
	}
	return &l
}

// stopTimeout is how long a stop of role's containers, or of the
// accessory of that name, waits for them to exit before the engine kills
// them: its StopTimeout, else DefaultStopTimeout.
func (a App) stopTimeout(name string) time.Duration {
	if r, ok := a.Roles[name]; ok && r.StopTimeout > 0 {
		return r.StopTimeout
	}
	if acc, ok := a.Accessories[name]; ok && acc.StopTimeout > 0 {
		return acc.StopTimeout
	}
	return DefaultStopTimeout
}

// logDriverRe is a log driver's name: a built-in one ("json-file") or a
// plugin's ("grafana/loki:latest"). A max-size is checked with logSizeRe
// (validate.go), as Proxy.LogMaxSize is.
var logDriverRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)*(:[A-Za-z0-9_.-]+)?$`)

// logging checks a Logging at p.
func (v *validator) logging(p string, l Logging) {
	if l.Driver != "" && !logDriverRe.MatchString(l.Driver) {
		v.addf(p+".driver", `must be a log driver's name, such as "json-file", "local", "journald" or a plugin's "vendor/name:tag", got %q`, l.Driver)
	}
	if l.Driver == "none" && len(l.Options) > 0 {
		v.add(p+".options", `the "none" driver takes no options; remove them or choose another driver`)
		return
	}
	for _, k := range sortedKeys(l.Options) {
		f := keyPath(p+".options", k)
		val := l.Options[k]
		switch {
		case k == "" || strings.ContainsFunc(k, isSpaceOrControl):
			v.addf(f, "an option needs a name without spaces, such as \"max-size\", got %q", k)
		case strings.ContainsFunc(val, func(c rune) bool { return c < ' ' || c == 0x7f }):
			v.add(f, "must not hold control characters")
		case k == "max-size" && !logSizeRe.MatchString(val):
			v.addf(f, `must be a size such as "10m", "500k" or "1g", got %q`, val)
		case k == "max-file":
			if n, err := strconv.Atoi(val); err != nil || n < 1 {
				v.addf(f, `must be a whole number of files, at least 1, such as "3", got %q`, val)
			}
		}
	}
}

// stopTimeout checks a StopTimeout at p.
func (v *validator) stopTimeout(p string, d time.Duration) {
	if d < 0 {
		v.addf(p, "must not be negative; 0 means DefaultStopTimeout (%s), got %s", DefaultStopTimeout, d)
	}
}
