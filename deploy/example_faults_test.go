package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/slipwayhq/slipway/deploy"
)

// Break a deploy lock left behind by a deploy that died (its machine lost
// the network, say), but only one that is clearly stale.
func ExampleSession_BreakLock() {
	ctx := context.Background()
	s, err := deploy.Connect(ctx, opsApp(), deploy.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	held, err := s.LockStatus(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if held == nil || !held.Incomplete && held.Age() < time.Hour {
		return // free, or a deploy that may still be running
	}
	broke, err := s.BreakLock(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("broke the lock held by", broke)
}

// Small timeouts for a CI job: a hung host fails a step after 10 s, a
// dropped link after about 10 s (two missed keepalives), and the cleanup
// after a lost connection keeps dialling the host for a minute.
func ExampleOptions_timeouts() {
	opts := deploy.Options{
		CallTimeout:       10 * time.Second,
		KeepAliveInterval: 5 * time.Second,
		ReconnectWindow:   time.Minute,
	}
	fmt.Println(opts.CallTimeout, opts.KeepAliveInterval, opts.ReconnectWindow)
	// Output: 10s 5s 1m0s
}

// A step that gets no answer fails with a *TimeoutError naming the host
// and the call; errors.Is tells it from a failed health gate.
func ExampleTimeoutError() {
	err := fmt.Errorf("batch 1 of 1: %w", &deploy.TimeoutError{
		Host: "203.0.113.11", Call: "start hello-web-v4", After: 30 * time.Second, Err: context.DeadlineExceeded})
	var timeout *deploy.TimeoutError
	if errors.As(err, &timeout) {
		fmt.Println(timeout.Host, "did not answer:", timeout.Call)
	}
	fmt.Println(errors.Is(err, deploy.ErrTimeout), errors.Is(err, deploy.ErrGateFailed))
	// Output:
	// 203.0.113.11 did not answer: start hello-web-v4
	// true false
}
