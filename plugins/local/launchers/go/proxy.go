// sluice local runner: the launcher for go:* functions.
//
// sluice compiles this file once (with the host's `go`) and starts it with the action's code
// in SLUICE_RUNNER_CODE_DIR, where an executable named `exec` speaks OpenWhisk's action-loop
// protocol: it acknowledges with one JSON line on file descriptor 3, then answers each JSON
// line of its stdin (one activation) with one JSON line on descriptor 3. That `exec` is either
// the action's own precompiled binary (a zip holding `exec`, as `localBuild` makes) or what
// sluice compiled from the action's Go sources.
//
// This launcher is the bridge to sluice's side of the protocol, the one described in node.js
// next to this file: it connects back over loopback TCP, proves who it is, forwards each run
// message to `exec` and wraps its reply. `exec` writes to the launcher's own stdout and
// stderr, so the user's output becomes activation logs; after each run the launcher prints
// the activation sentinel on both. `exec` is killed when the launcher dies (timeouts kill
// the launcher).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

const sentinel = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"

func finishActivation() {
	os.Stdout.WriteString(sentinel + "\n")
	os.Stderr.WriteString(sentinel + "\n")
}

func main() {
	port := os.Getenv("SLUICE_RUNNER_PORT")
	token := os.Getenv("SLUICE_RUNNER_TOKEN")
	codeDir := os.Getenv("SLUICE_RUNNER_CODE_DIR")
	for _, key := range []string{"SLUICE_RUNNER_PORT", "SLUICE_RUNNER_TOKEN",
		"SLUICE_RUNNER_CODE_DIR", "SLUICE_RUNNER_BINARY", "SLUICE_RUNNER_MAIN"} {
		os.Unsetenv(key)
	}
	conn, err := net.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		os.Stderr.WriteString("sluice go launcher: " + err.Error() + "\n")
		os.Exit(1)
	}
	send := func(line []byte) {
		if _, err := conn.Write(append(line, '\n')); err != nil {
			os.Exit(1)
		}
	}
	sendError := func(message string) {
		encoded, _ := json.Marshal(map[string]interface{}{"ok": false, "error": message})
		send(encoded)
	}
	hello, _ := json.Marshal(map[string]string{"hello": token})
	send(hello)

	replyRead, replyWrite, err := os.Pipe()
	if err != nil {
		finishActivation()
		sendError("Initialization has failed due to: " + err.Error())
		return
	}
	action := exec.Command(filepath.Join(codeDir, "exec"))
	action.Dir = codeDir
	action.Stdout = os.Stdout
	action.Stderr = os.Stderr
	action.ExtraFiles = []*os.File{replyWrite}
	action.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	input, err := action.StdinPipe()
	if err == nil {
		err = action.Start()
	}
	replyWrite.Close()
	if err != nil {
		finishActivation()
		sendError("Initialization has failed due to: cannot start the action's executable: " + err.Error())
		return
	}
	replies := bufio.NewReader(replyRead)
	if _, err := replies.ReadBytes('\n'); err != nil {
		state := "it exited"
		if werr := action.Wait(); werr != nil {
			state = werr.Error()
		}
		finishActivation()
		sendError("Initialization has failed due to: the action's executable ended before it " +
			"acknowledged the action-loop protocol (" + state + ")")
		return
	}
	send([]byte(`{"ok":true}`))

	runs := bufio.NewReader(conn)
	for {
		message, err := runs.ReadBytes('\n')
		if err != nil {
			action.Process.Kill()
			return
		}
		if _, err := input.Write(message); err != nil {
			finishActivation()
			os.Exit(1)
		}
		reply, err := replies.ReadBytes('\n')
		finishActivation()
		if err != nil {
			// The action died during the run: closing the connection tells sluice.
			os.Exit(1)
		}
		reply = bytes.TrimSpace(reply)
		var value interface{}
		if json.Unmarshal(reply, &value) == nil {
			switch value.(type) {
			case map[string]interface{}, []interface{}:
				compact := new(bytes.Buffer)
				if json.Compact(compact, reply) == nil {
					send(append(append([]byte(`{"ok":true,"result":`), compact.Bytes()...), '}'))
					continue
				}
			}
		}
		sendError("The action did not produce a valid JSON or JSON Array response: " + string(reply))
	}
}
