package ssh_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/slipwayhq/slipway/deploy/ssh"
)

// Connect to a server with a key file, checking its host key against
// ~/.ssh/known_hosts, and run a command over the connection.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := ssh.Dial(ctx, ssh.Config{
		Host:     "203.0.113.10",
		User:     "deploy",
		KeyFiles: []string{os.ExpandEnv("$HOME/.ssh/id_ed25519")},
	})
	if err != nil {
		log.Fatal(err) // names the host and what to check
	}
	defer c.Close()

	res, err := c.Run(ctx, "uname -m", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s is %s", c.Host(), res.Stdout)
}

// Reach a server through a bastion, as OpenSSH's ProxyJump does.
func ExampleConfig_jump() {
	cfg := ssh.Config{
		Host: "10.0.0.5",
		Jump: &ssh.Config{Host: "bastion.example.com", User: "ops"},
	}
	fmt.Println(cfg.Destination(), "via", cfg.Jump.Destination())
	// Output: root@10.0.0.5:22 via ops@bastion.example.com:22
}

// Reach many servers through one connection to their bastion.
func ExampleBastions() {
	ctx := context.Background()
	bastion := &ssh.Config{Host: "bastion.example.com", User: "ops"}
	var bastions ssh.Bastions
	defer bastions.Close() // after the hosts: their connections run through it
	for _, host := range []string{"10.0.0.5", "10.0.0.6", "10.0.0.7"} {
		c, err := bastions.Dial(ctx, ssh.Config{Host: host, Jump: bastion})
		if err != nil {
			log.Fatal(err)
		}
		defer c.Close()
	}
	fmt.Println(bastions.Open(), "connection to the bastion")
}

// Write a file on the host; it appears whole or not at all.
func ExampleClient_Upload() {
	ctx := context.Background()
	c, err := ssh.Dial(ctx, ssh.Config{Host: "203.0.113.10"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	err = c.Upload(ctx, "/etc/slipway/hello.env", 0o600, strings.NewReader("PORT=3000\n"))
	if err != nil {
		log.Fatal(err)
	}
}

func ExampleQuote() {
	fmt.Println("cat " + ssh.Quote("/srv/my app/it's.txt"))
	// Output: cat '/srv/my app/it'\''s.txt'
}
