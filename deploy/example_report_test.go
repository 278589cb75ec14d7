package deploy_test

import (
	"errors"
	"fmt"

	"github.com/slipwayhq/slipway/deploy"
)

// A deploy that failed on several hosts returns a *deploy.HostsError:
// its message groups the hosts by reason, and errors.Is still finds a
// sentinel in any host's error.
func ExampleHostsError() {
	gate := func() error {
		return fmt.Errorf("gate: hello-web-v3: %w: /up answered 500", deploy.ErrGateFailed)
	}
	refused := func(host string) error {
		return fmt.Errorf("connect to root@%s:22: connection refused", host)
	}
	err := fmt.Errorf("batch 2 of 2: %w", &deploy.HostsError{Hosts: 5, Errs: []*deploy.HostError{
		{Host: "203.0.113.11", Err: refused("203.0.113.11")},
		{Host: "203.0.113.12", Err: gate()},
		{Host: "203.0.113.14", Err: refused("203.0.113.14")},
	}})
	fmt.Println(err)
	fmt.Println(errors.Is(err, deploy.ErrGateFailed))
	// Output:
	// batch 2 of 2: 3 of 5 hosts failed:
	//   203.0.113.11, 203.0.113.14: connect to root@<host>:22: connection refused
	//   203.0.113.12: gate: hello-web-v3: health gate failed: /up answered 500
	// true
}

// Groups gives a program the hosts of each reason, to retry the ones
// that could not be reached, say.
func ExampleHostsError_Groups() {
	he := &deploy.HostsError{Hosts: 3, Errs: []*deploy.HostError{
		{Host: "h1", Err: errors.New("connect to root@h1:22: i/o timeout")},
		{Host: "h3", Err: errors.New("connect to root@h3:22: i/o timeout")},
	}}
	for _, g := range he.Groups() {
		fmt.Println(g.Hosts, g.Reason)
	}
	// Output:
	// [h1 h3] connect to root@<host>:22: i/o timeout
}
