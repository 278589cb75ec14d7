// Package ssh is Slipway's transport to a host: one SSH connection per
// host, on golang.org/x/crypto/ssh, reused for every command, upload and
// forwarded socket (the Docker API travels over it too).
//
// # Connecting
//
// Dial takes a Config whose zero fields mean the defaults: port
// DefaultPort, user DefaultUser, the usual ~/.ssh keys and the ssh-agent,
// ~/.ssh/known_hosts. Jump reaches a host through a bastion, as OpenSSH's
// ProxyJump does. A failed dial names the host and says what to check:
// the address, the key offered, the login refused.
//
// Dial connects to a host's bastion for that host alone. Many servers
// behind one bastion share a connection to it through Bastions, as
// OpenSSH's ControlMaster does: one handshake and one host-key check for
// the bastion, however many hosts a deploy reaches through it (a Session
// does this for the servers of an App).
//
// Host keys are checked against known_hosts and the check is strict by
// default: an unknown or changed key is refused with a *HostKeyError that
// matches ErrUnknownHost or ErrHostKeyChanged and prints its fingerprint
// and the command that trusts it. Trust-on-first-use is there only when
// asked for with Config.TrustOnFirstUse.
//
// # Using the connection
//
//   - Run runs a shell command and returns what it printed; a non-zero
//     exit is an *ExitError holding the end of stderr. Stream does the same
//     with the output going to writers as it comes. Commands appear in
//     errors, so a secret goes on stdin, never in the command; Quote
//     quotes an argument for the remote shell.
//   - Upload writes a file that appears whole or not at all (a temporary
//     file, then a rename), and refuses to write through a symlink.
//   - DialContext opens a connection from the host, to a TCP address or a
//     unix socket such as the Docker engine's; Listen opens a port on the
//     host whose connections come back to the caller (a remote forward).
//
// # Timeouts
//
// Nothing waits on a silent host for ever. ConnectTimeout bounds the
// connect and handshake (DefaultConnectTimeout). Keepalives every
// KeepAliveInterval (DefaultKeepAliveInterval) close a connection whose
// host stopped answering, and Done and Alive tell its users. A command
// that reads and writes nothing for CommandTimeout
// (DefaultCommandTimeout) is killed and fails with ErrCommandTimeout; a
// long command that keeps moving is never cut.
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
