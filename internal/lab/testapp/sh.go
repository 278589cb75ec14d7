package main

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/term"
)

// shPrompt is what the shell prints before reading each line.
const shPrompt = "testapp$ "

// shell is "testapp sh", a line-based stand-in for a shell in an image that
// has none, for the tests of an interactive exec. It prints a prompt and
// reads lines from stdin:
//
//	echo WORDS  prints the words
//	size        prints the terminal's size on stdin, "rows=R cols=C"
//	env NAME    prints the variable (for the tests that secrets are redacted)
//	exit [N]    exits with code N (default 0)
//
// A Ctrl-C (SIGINT from its terminal) prints "interrupted" and a new
// prompt, as a shell does; end of input exits 0.
func shell() int {
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, syscall.SIGINT)
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	fmt.Print(shPrompt)
	for {
		select {
		case <-interrupts:
			fmt.Print("\ninterrupted\n" + shPrompt)
			continue
		case line, ok := <-lines:
			if !ok {
				fmt.Println()
				return 0
			}
			if code, done := shellLine(line); done {
				return code
			}
			fmt.Print(shPrompt)
		}
	}
}

// shellLine runs one line; done says the shell exits with code.
func shellLine(line string) (code int, done bool) {
	words := strings.Fields(line)
	if len(words) == 0 {
		return 0, false
	}
	switch words[0] {
	case "echo":
		fmt.Println(strings.Join(words[1:], " "))
	case "size":
		cols, rows, err := term.GetSize(int(os.Stdin.Fd()))
		if err != nil {
			fmt.Println("size:", err)
			break
		}
		fmt.Printf("rows=%d cols=%d\n", rows, cols)
	case "env":
		if len(words) > 1 {
			fmt.Println(os.Getenv(words[1]))
		}
	case "exit":
		if len(words) > 1 {
			n, err := strconv.Atoi(words[1])
			if err != nil {
				fmt.Println("exit: not a number:", words[1])
				break
			}
			code = n
		}
		return code, true
	default:
		fmt.Println(words[0] + ": unknown command; try echo, size, env or exit")
	}
	return 0, false
}
