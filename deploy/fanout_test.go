package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slipwayhq/slipway/secret"
)

func TestFanOut(t *testing.T) {
	t.Run("returns the errors in host order, not the order hosts finish in", func(t *testing.T) {
		hosts := []string{"h1", "h2", "h3", "h4", "h5", "h6"}
		// Each host waits for the one after it to finish, so they finish last host first.
		done := make([]chan struct{}, len(hosts)+1)
		for i := range done {
			done[i] = make(chan struct{})
		}
		close(done[len(hosts)])
		var finished []string
		var mu sync.Mutex
		err := fanOut(0, len(hosts), func(i int) error {
			<-done[i+1]
			defer close(done[i])
			mu.Lock()
			finished = append(finished, hosts[i])
			mu.Unlock()
			if i%2 == 0 {
				return fmt.Errorf("%s failed", hosts[i])
			}
			return nil
		})
		require.Error(t, err)
		assert.Equal(t, []string{"h6", "h5", "h4", "h3", "h2", "h1"}, finished, "the hosts finished last first")
		assert.Equal(t, "h1 failed\nh3 failed\nh5 failed", err.Error())
	})

	t.Run("runs no more than the limit at once, and reaches it", func(t *testing.T) {
		const n, limit = 40, 3
		var running, most, calls atomic.Int32
		// The first limit calls hold until limit of them run at once, so
		// the limit is reached for certain; a helper that ran fewer at
		// once would never let them go (the test's deadline says so).
		gate := make(chan struct{})
		var arrived atomic.Int32
		err := fanOut(limit, n, func(i int) error {
			now := running.Add(1)
			defer running.Add(-1)
			calls.Add(1)
			for {
				m := most.Load()
				if now <= m || most.CompareAndSwap(m, now) {
					break
				}
			}
			if arrived.Add(1) == limit {
				close(gate)
			}
			<-gate
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, int32(n), calls.Load(), "every call runs")
		assert.Equal(t, int32(limit), most.Load(), "at most the limit at once, and the limit is used")
	})

	t.Run("one failing host does not stop the others", func(t *testing.T) {
		var calls atomic.Int32
		boom := errors.New("boom")
		err := fanOut(2, 10, func(i int) error {
			calls.Add(1)
			if i == 0 {
				return boom
			}
			return nil
		})
		assert.ErrorIs(t, err, boom)
		assert.Equal(t, int32(10), calls.Load())
	})

	t.Run("the limit is Options.Parallel, DefaultParallel when zero", func(t *testing.T) {
		assert.Equal(t, DefaultParallel, Options{}.parallel())
		assert.Equal(t, 4, Options{Parallel: 4}.parallel())
		assert.Equal(t, -1, Options{Parallel: -1}.parallel(), "negative: no limit")
	})
}

func TestFanOutHosts(t *testing.T) {
	hosts := []string{"h1", "h2", "h3", "h4"}

	t.Run("no error when every host succeeds", func(t *testing.T) {
		assert.NoError(t, fanOutHosts(2, hosts, func(int) error { return nil }))
	})

	t.Run("the failed hosts as one HostsError, in host order, of all the hosts", func(t *testing.T) {
		err := fanOutHosts(2, hosts, func(i int) error {
			if i == 1 || i == 3 {
				return errors.New("refused")
			}
			return nil
		})
		var he *HostsError
		require.ErrorAs(t, err, &he)
		assert.Equal(t, 4, he.Hosts)
		require.Len(t, he.Errs, 2)
		assert.Equal(t, "h2", he.Errs[0].Host)
		assert.Equal(t, "h4", he.Errs[1].Host)
		assert.Equal(t, "2 of 4 hosts failed:\n  h2, h4: refused", err.Error())
	})
}

func TestPrinterFailures(t *testing.T) {
	t.Run("prints the grouped failures once, redacted, and nothing without a HostsError", func(t *testing.T) {
		var out bytes.Buffer
		p := newPrinter(&out)
		p.redact(secret.Values{"TOKEN": "tok-3141"})
		he := &HostsError{Hosts: 3, Errs: []*HostError{
			{Host: "h1", Err: errors.New("gate: /up said tok-3141")},
			{Host: "h3", Err: errors.New("gate: /up said tok-3141")},
		}}
		err := fmt.Errorf("batch 1 of 1: %w", he)
		p.failures(errors.New("not per host"))
		p.failures(err)
		p.failures(fmt.Errorf("deploy: %w", err)) // the caller's caller
		p.flush()
		assert.Equal(t, "\nFailed on 2 of 3 hosts:\n  h1, h3: gate: /up said [redacted]\n", out.String())
	})
}
