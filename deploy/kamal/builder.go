package kamal

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/slipwayhq/slipway/deploy/image"
	"github.com/slipwayhq/slipway/deploy/ssh"
)

// builder reads Kamal's builder into an image.Dockerfile. Kamal builds
// the project's Dockerfile when builder is absent or says only arch, and
// so does the imported App. v may be nil.
func (k *kamalImport) builder(v *kval, path string) (image.Builder, error) {
	d := image.Dockerfile{}
	context, dockerfile := ".", image.DefaultDockerfile
	var contextVal, fileVal *kval
	var arch []string
	if v != nil && !v.isNull() && v.kind != yaml.MappingNode {
		return nil, k.typeErr(v, path, "a map")
	}
	err := k.fields(v, path, func(key string, val *kval, p string) (bool, error) {
		var err error
		switch key {
		case "arch":
			arch, err = k.strList(val, p, true)
		case "context":
			contextVal = val
			context, err = k.str(val, p)
		case "dockerfile":
			fileVal = val
			dockerfile, err = k.str(val, p)
		case "target":
			d.Target, err = k.str(val, p)
		case "args":
			d.Args, err = k.strMap(val, p)
		case "remote":
			var s string
			if s, err = k.str(val, p); err == nil {
				if host, ok := remoteBuilder(s); ok {
					d.Host = host
					k.note("builder.remote %s: the image is built on that host's engine over SSH (image.Dockerfile.Host)", s)
				} else {
					k.unsupported(val, p, fmt.Sprintf("want ssh://user@host[:port], got %q; set image.Dockerfile.Host to the builder's ssh.Config", s))
				}
			}
		case "local":
			k.unsupported(val, p, "Slipway builds on one engine (the remote one when builder.remote is set), for the hosts' platform; build the other platforms on a builder of theirs")
		case "secrets":
			k.unsupported(val, p, "build secrets are not passed to the build (image.Dockerfile has no secret mounts); build the image in CI with docker buildx and deploy it from the registry, or use Go builds")
		case "cache":
			k.unsupported(val, p, "the build cache is the engine's own; Slipway sets no cache import or export")
		case "driver":
			k.unsupported(val, p, "Slipway builds through the engine's API, with no buildx driver")
		case "pack":
			k.unsupported(val, p, "buildpacks are not supported; write a Dockerfile, or use image.Go for a Go app")
		case "ssh":
			k.unsupported(val, p, "an SSH agent is not forwarded into the build; vendor what the build fetches over SSH")
		case "provenance", "sbom":
			k.unsupported(val, p, "Slipway attaches no provenance or SBOM attestations to the image")
		default:
			return false, nil
		}
		return true, err
	})
	if err != nil {
		return nil, err
	}
	// Kamal's context and dockerfile are both relative to the project;
	// Slipway's File is inside Context.
	ctx := filepath.Join(k.root, context)
	file := filepath.Join(k.root, dockerfile)
	rel, err := filepath.Rel(ctx, file)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		at := fileVal
		if at == nil {
			at = contextVal
		}
		k.unsupported(at, keyPath(path, "dockerfile"), fmt.Sprintf("the Dockerfile %s is outside the build context %s, which Slipway sends alone: move it into the context", dockerfile, context))
		rel = image.DefaultDockerfile
	}
	d.Context = ctx
	if rel != image.DefaultDockerfile {
		d.File = rel
	}
	if _, err := os.Stat(file); err != nil {
		k.note("builder: there is no %s: the App builds it, so add it or set App.Build", file)
	}
	if len(arch) > 0 {
		k.note("builder.arch %s: Slipway builds for the platform each host's engine reports; an image.Dockerfile builds its engine's own platform only", strings.Join(arch, ", "))
	}
	if contextVal == nil {
		k.note("builder: the image is built from %s as it is on disk (Kamal builds a clean git clone unless builder.context is set); .dockerignore applies", ctx)
	}
	return d, nil
}

// remoteBuilder reads builder.remote, "ssh://user@host:port".
func remoteBuilder(s string) (*ssh.Config, bool) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "ssh" || u.Hostname() == "" {
		return nil, false
	}
	c := &ssh.Config{Host: u.Hostname(), User: u.User.Username()}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, false
		}
		c.Port = n
	}
	return c, true
}
