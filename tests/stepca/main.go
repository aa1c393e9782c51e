// step-ca for the tests: Debian's golang-github-smallstep-certificates-dev
// (0.19) ships the CA as a library without its cmd/step-ca; this main runs
// the library's own start command (commands.AppCommand) and nothing else.
package main

import (
	"os"

	"github.com/smallstep/certificates/commands"
	"github.com/urfave/cli"
)

func main() {
	app := cli.NewApp()
	app.Name = "step-ca"
	app.HelpName = "step-ca"
	app.Usage = "step-ca built for dcvfleet's tests"
	app.Flags = commands.AppCommand.Flags
	app.Action = commands.AppCommand.Action
	app.UsageText = commands.AppCommand.UsageText
	if err := app.Run(os.Args); err != nil {
		os.Stderr.WriteString("step-ca: " + err.Error() + "\n")
		os.Exit(1)
	}
}
