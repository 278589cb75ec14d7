package image_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/slipwayhq/slipway/deploy/image"
)

// A Go build needs no Docker: it compiles the package for each platform
// the hosts need and assembles the image in memory. Delivering the same
// source again sends nothing, since the image ID is the same.
func ExampleGo() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/hello\n\ngo 1.26\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() { println(\"hello\") }\n"), 0o644)

	ctx := context.Background()
	b := image.Go{Package: ".", Dir: dir, Binary: "/hello"}
	built, err := b.Build(ctx, []string{"linux/amd64", "linux/arm64"}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer built.Close()
	again, _ := b.Build(ctx, []string{"linux/amd64"}, nil)
	first, _ := built.ID("linux/amd64")
	second, _ := again.ID("linux/amd64")

	cf, _ := built.Images["linux/arm64"].ConfigFile()
	fmt.Println(built.Platforms())
	fmt.Println(cf.Architecture, cf.Config.Entrypoint)
	fmt.Println("same source, same image ID:", first == second)
	// Output:
	// [linux/amd64 linux/arm64]
	// arm64 [/hello]
	// same source, same image ID: true
}

// A Dockerfile build checks its input before it contacts any engine.
func ExampleDockerfile() {
	_, err := image.Dockerfile{Context: os.TempDir(), File: "no-such.Dockerfile"}.Build(context.Background(), nil, nil)
	fmt.Println(err != nil)
	// Output:
	// true
}

// A host's engine reports its OS and architecture in its own words;
// Platform turns them into the platform a build targets.
func ExamplePlatform() {
	fmt.Println(image.Platform("linux", "x86_64"))
	fmt.Println(image.Platform("linux", "aarch64"))
	// Output:
	// linux/amd64
	// linux/arm64
}
