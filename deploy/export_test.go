package deploy

import "github.com/slipwayhq/slipway/deploy/ssh"

// BeforeStep makes s call f as each step of its deploys begins: the seam
// through which lab tests interrupt a deploy at a chosen step.
func BeforeStep(s *Session, f func(Step)) { s.beforeStep = f }

// SSHConfig is the SSH transport's configuration a session with opts
// dials srv with: the seam through which tests see connect timeouts.
func SSHConfig(opts Options, srv Server) ssh.Config {
	return (&Session{opts: opts}).sshConfig(srv)
}
