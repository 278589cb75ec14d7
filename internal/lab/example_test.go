package lab_test

import (
	"fmt"

	"github.com/slipwayhq/slipway/internal/lab"
)

// A lab host reached through the lab's bastion: the configuration a test
// gives ssh.Dial, or ssh.Bastions to share one connection to the bastion
// among many hosts.
func ExampleBastion_Behind() {
	opts := lab.Options{Dir: "/tmp/slipway-lab"}
	cfg := opts.Bastion().Behind(opts.Host(3))
	fmt.Println(cfg.Destination(), "through", cfg.Jump.Destination())
	fmt.Println("known hosts:", cfg.Jump.KnownHosts)
	// Output:
	// root@10.250.3.2:22 through root@10.250.200.2:22
	// known hosts: /tmp/slipway-lab/known_hosts
}
