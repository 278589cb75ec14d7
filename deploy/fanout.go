package deploy

import (
	"errors"

	"golang.org/x/sync/errgroup"
)

// DefaultParallel is how many hosts a Session works on at once when
// Options.Parallel is zero: connection starts, observation and each
// host's share of an operation. Sixteen keeps a small fleet's deploy as
// fast as all-at-once while bounding the SSH handshakes and engine calls
// a large one starts together.
const DefaultParallel = 16

// fanOut runs fn(i) for every i in [0, n), at most limit at once (limit
// < 1 means all at once), and returns their errors joined in index
// order, so that the caller's order of hosts, not the order they happen
// to finish in, is the order a person reads the failures in. Every fn
// runs: one failing does not cancel the others.
func fanOut(limit, n int, fn func(i int) error) error {
	errs := make([]error, n)
	var g errgroup.Group
	if limit >= 1 {
		g.SetLimit(limit)
	}
	for i := range n {
		g.Go(func() error {
			errs[i] = fn(i)
			return nil
		})
	}
	g.Wait() // never an error: each fn's is kept in errs
	return errors.Join(errs...)
}

// parallel is Options.Parallel with the default applied.
func (o Options) parallel() int { return orDefault(o.Parallel, DefaultParallel) }

// fanOutHosts is fanOut over hosts: fn(i) works on hosts[i], and the
// hosts that failed come back as one *HostsError (nil when none did),
// which groups them by reason for a person reading thirty of them.
func fanOutHosts(limit int, hosts []string, fn func(i int) error) error {
	errs := make([]error, len(hosts))
	fanOut(limit, len(hosts), func(i int) error {
		errs[i] = fn(i)
		return nil
	})
	return hostsError(hosts, errs)
}

// onHosts runs fn for each of hosts (connected ones), at most
// Options.Parallel at once, and returns the failed hosts as one
// *HostsError in the order of hosts. fn's i is the host's index in
// hosts, for results kept in a slice; its error need not name the host.
// Each host's error is redacted as it is read, as if it had left the
// session, since errors.As hands it out unwrapped.
func (s *Session) onHosts(hosts []string, fn func(i int, h *hostConn) error) error {
	return fanOutHosts(s.opts.parallel(), hosts, func(i int) error {
		if err := fn(i, s.hosts[hosts[i]]); err != nil {
			return s.redacted(err)
		}
		return nil
	})
}
