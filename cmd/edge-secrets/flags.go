package main

import (
	"errors"
	"flag"
	"strings"
	"time"
)

// notShown ends the messages about a command line word that is not
// quoted.
const notShown = "not shown: it may be a value or a token typed in the wrong place"

// parseFlags parses args with fs. Its errors are usage errors that say
// which flag is at fault and never quote what was given: the flag
// package's own errors quote a refused value ("invalid value "hvs.…" for
// flag -timeout") and an unknown flag ("flag provided but not defined:
// -hvs.…"), and a token pasted in the wrong place would be printed.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := f.Value.(*checkedValue); !ok {
			f.Value = &checkedValue{Value: f.Value}
		}
	})
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	var refused error
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := f.Value.(*checkedValue); ok && v.refused {
			refused = usageErrorf("invalid value for %s (%s); %s", dashed(f.Name), notShown, wants(v.Value))
		}
	})
	if refused != nil {
		return refused
	}
	// The flag package's other errors, told by their text (it exports
	// no error values for them): only a defined flag's name is printed.
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok && fs.Lookup(name) != nil {
		return usageErrorf("%s needs a value", dashed(name))
	}
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok && (name == "org" || name == "o") && fs.Name() == globalName {
		return usageErrorf("--org goes after the command (edge-secrets list --org); --org-name NAME names the org")
	}
	if strings.HasPrefix(msg, "flag provided but not defined: ") {
		return usageErrorf("unknown flag (%s); the flags here are %s", notShown, flagNames(fs))
	}
	return usageErrorf("malformed flag (%s); the flags here are %s", notShown, flagNames(fs))
}

// checkedValue is a flag's value that remembers whether it refused what
// it was given, so that parseFlags can name the flag without the flag
// package's message, which quotes the refused text.
type checkedValue struct {
	flag.Value
	refused bool
}

func (v *checkedValue) Set(s string) error {
	err := v.Value.Set(s)
	v.refused = err != nil
	return err
}

// IsBoolFlag keeps a boolean flag one that takes no argument.
func (v *checkedValue) IsBoolFlag() bool {
	b, ok := v.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// wants says what a flag of value's type takes.
func wants(value flag.Value) string {
	g, _ := value.(flag.Getter)
	if g == nil {
		return "see --help"
	}
	switch g.Get().(type) {
	case bool:
		return "give the flag alone, or =true or =false"
	case time.Duration:
		return "give a DURATION such as 90s or 10m"
	}
	return "see --help"
}

// dashed spells a flag as --help shows it: -o, --org.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// flagNames lists fs's flags, for the message about an unknown one.
func flagNames(fs *flag.FlagSet) string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, dashed(f.Name)) })
	return strings.Join(names, ", ")
}
