// Package image gets a release's image onto its hosts: it builds the
// image, once, and delivers it to every host before anything boots.
//
// Two builders make an image from source:
//
//   - Go compiles a Go main package into a static linux binary and
//     assembles an OCI image on a base (scratch by default) with
//     go-containerregistry, with no Docker on the operator's machine. It
//     cross-compiles, so hosts of several architectures each get theirs.
//   - Dockerfile builds through a Docker engine's API — the operator's own,
//     or a builder host's over SSH — with build args and a target stage,
//     streaming the build's output and failing with the failing step's
//     output.
//
// Deliver puts a built image on many hosts at once, in one of two ways:
//
//   - Registry-free (the default), over the SSH connection each host
//     already has: an in-process registry on the operator's side is exposed
//     on the host's loopback through a remote port forward, and the host's
//     engine pulls from 127.0.0.1:PORT — so it fetches only the layers it
//     lacks, and nothing is installed or opened on the host. The naive
//     `docker save | ssh host docker load` sends every layer every time.
//   - Through a Registry: pushed once, pulled by every host with the
//     login passed in the engine API's X-Registry-Auth header, never
//     written to a host's disk.
//
// Either way a host that already holds the image ID is sent nothing, a
// registry that is unreachable or refuses the login fails before any host
// is touched, and when any host fails the others get back the reference
// they had. Progress shows as a bar per host on a terminal (bytes, rate,
// time left) and as plain lines otherwise.
//
// deploy.App's Build and Registry fields make all this part of a deploy's
// plan; this package is for custom tooling too.
//
// # Example
//
// Build a Go app and deliver it registry-free to hosts the caller is
// connected to (sshClient and eng per host, from packages ssh and engine):
//
//	built, err := image.Go{Package: "./cmd/hello", Data: "./static"}.Build(ctx, []string{"linux/amd64"}, os.Stdout)
//	if err != nil {
//		return err // the compiler's output, when it does not compile
//	}
//	defer built.Close()
//	targets := []image.Target{{Name: "203.0.113.10", SSH: sshClient, Engine: eng}}
//	results, err := image.Deliver(ctx, built, "hello:v42", targets, image.Options{Output: os.Stdout})
//	if err != nil {
//		return err // no host was changed
//	}
//	for _, r := range results {
//		fmt.Printf("%s: %d bytes, present before: %v\n", r.Host, r.Bytes, r.Present)
//	}
//
// Through a registry instead:
//
//	opts := image.Options{Registry: &image.Registry{Username: "deploy", Password: token}}
//	_, err = image.Deliver(ctx, built, "ghcr.io/acme/hello:v42", targets, opts)
package image
