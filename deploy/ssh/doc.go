// Package ssh is Slipway's transport to a host: one SSH connection per
// host, on golang.org/x/crypto/ssh, reused for every command, upload and
// forwarded socket (the Docker API travels over it too).
//
// Host keys are checked against known_hosts and the check is strict by
// default: an unknown or changed key is refused with its fingerprint and
// the command that trusts it. Trust-on-first-use is there only when asked
// for with Config.TrustOnFirstUse.
//
// # Example
//
//	c, err := ssh.Dial(ctx, ssh.Config{Host: "203.0.113.10", KeyFiles: []string{"/home/me/.ssh/id_ed25519"}})
//	if err != nil {
//		return err // says which host, and what to check
//	}
//	defer c.Close()
//	res, err := c.Run(ctx, "uptime", nil)
package ssh
