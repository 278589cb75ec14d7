// Package engine is Slipway's client of the Docker Engine API on a server.
//
// An Engine talks to one host's dockerd through a DialFunc the caller
// supplies; in production that opens a stream-local forward to the host's
// docker socket over one kept SSH connection, so nothing on the server
// listens on TCP and no docker CLI output is parsed. New pings the engine
// once and settles on the newest API version both sides speak; the package
// uses no API feature newer than 1.41 (Docker 20.10), and its client
// (github.com/moby/moby/client) speaks no version older than 1.40.
//
// Containers are named by name or ID alike. Errors say what was being done
// and on which host, and match ErrNotFound when the container, image or
// network is missing. A ContainerSpec's Env values may be secrets: this
// package never puts them in an error or in the spec's String.
//
// # Method names
//
// Methods are named the way the moby client names its calls, object
// first, so that an IDE lists an object's calls together: containers, the
// engine's main subject, take bare verbs (Create, Start, Stop, Remove,
// Rename, Inspect, List, Exec, CopyTo, Logs, Tail); every other object's
// calls are its noun then the verb (ImageBuild, ImageInspect, ImageList,
// ImagePull, ImageTag, ImageRemove, ImageLoad, ImageSave, ImageLayers;
// NetworkEnsure; VolumeEnsure, VolumeMountpoint, VolumeRemove). An Ensure
// call creates the object unless one of that name exists, and is safe to
// repeat. Calls about the engine itself (Ping, Version, CheckVersion,
// Close) need no noun.
//
// Slipway supports Docker Engine MinimumVersion (20.10.9) and newer: older
// engines lack fixes to the archive endpoint CopyTo uses. Version.Check and
// Engine.CheckVersion test a host's engine against it.
//
// # Timeouts
//
// No call waits on a silent engine for longer than Options allow, so a
// hung or stopped dockerd fails a deploy instead of stalling it. A call
// the engine answers at once (inspect, create, start, list, ...) gets
// Options.CallTimeout, DefaultCallTimeout (30s) unless set. A call whose
// length nobody knows (logs, an exec's output, pulls, builds, image load
// and save, a stop without a timeout) is watched instead: after
// Options.IdleTimeout (DefaultIdleTimeout, 15s) without a byte either
// way, the engine is pinged, and the call fails when the ping is not
// answered within CallTimeout; a quiet stream whose engine answers goes
// on for as long as the caller's ctx allows. Such failures name the call
// and the host and match ErrNoAnswer and context.DeadlineExceeded:
//
//	inspect container hello-web-v2 on root@10.250.1.2: no answer within 30s: check that dockerd there runs and is not overloaded
//
// # Example
//
// Start a web container on a server reached over SSH (sshClient is a
// deploy/ssh client) and ask it for its version:
//
//	dial := func(ctx context.Context) (net.Conn, error) {
//		return sshClient.DialContext(ctx, "unix", engine.DefaultSocket)
//	}
//	e, err := engine.New(ctx, dial, engine.Options{Host: "root@10.250.1.2"})
//	if err != nil {
//		return err
//	}
//	defer e.Close()
//
//	_, err = e.Create(ctx, engine.ContainerSpec{
//		Name:    "app-web-v1",
//		Image:   "slipway/testapp:v1",
//		Env:     []string{"APP_VERSION=v1"},
//		Labels:  map[string]string{"service": "app"},
//		Restart: "unless-stopped",
//	})
//	if err != nil {
//		return err
//	}
//	if err := e.Start(ctx, "app-web-v1"); err != nil {
//		return err
//	}
//	res, err := e.Exec(ctx, "app-web-v1", []string{"/testapp", "version"}, engine.ExecOptions{})
//	if err != nil {
//		return err
//	}
//	fmt.Printf("exit %d: %s", res.ExitCode, res.Stdout)
package engine
