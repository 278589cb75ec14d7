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
// they had.
//
// # Progress
//
// Options.Output shows each host's transfer. On a terminal (or with
// Options.Terminal set to true) every host gets one line, a bar redrawn
// in place by github.com/vbauerster/mpb/v8, in the targets' order:
//
//	10.250.1.2      image: [=======            ] 3.0 MiB / 8.0 MiB  5.0 MiB/s  1s left
//	10.250.2.2      image: waiting
//
// and once it is over, the same line says how it ended:
//
//	10.250.1.2      image: sent 9.0 MiB in 1.51s (6.0 MiB/s)
//	10.250.2.2      image: present, sent 0 B in 0.00s (0 B/s)
//
// Anywhere else (a CI log, a file) nothing is redrawn: no escape codes,
// no carriage returns, one plain line when a host starts and one when it
// ends:
//
//	10.250.1.2      image: sending 2 layers, about 8.0 MiB
//	10.250.1.2      image: sent 9.0 MiB in 1.51s (6.0 MiB/s)
//
// Sizes are binary units from github.com/dustin/go-humanize. Only host
// names and sizes are shown; a registry login never reaches the output.
// Counting costs a registry-free transfer under 1 µs per 32 KiB written
// on a terminal (mpb takes each count over a channel) and about 5 ns off
// one, against 5 ns for the bars this package drew by hand before
// (BenchmarkProgressAddBytes): 30 GB/s or more, far above what an SSH
// link carries, so the library costs a delivery nothing measurable.
//
// A build that can take a minute shows it runs: Go's go build and its
// image assembly, and a Dockerfile build (with the builder's own lines),
// each show a spinner with the elapsed time on a terminal, and a plain
// line as they start otherwise; either way a line with the duration as
// each ends, and a summary last:
//
//	go build ./cmd/hello for linux/amd64
//	go build ./cmd/hello for linux/amd64: compiled in 41.20s
//	image for linux/amd64 (scratch + binary /hello)
//	image for linux/amd64 (scratch + binary /hello): assembled in 0.31s
//	go build ./cmd/hello: 1 image in 41.51s (compiling 41.20s, assembling 0.31s)
//
// Build's out is a terminal when it is an *os.File on one or a
// TerminalWriter that says so (deploy's redacting output does).
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
