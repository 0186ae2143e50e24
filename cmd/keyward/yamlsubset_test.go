package main

import (
	"fmt"
	"strconv"
	"strings"
)

// parseYAML reads the block-style YAML that the Traefik and Envoy
// configurations under deploy/forward-auth are written in, with the
// standard library only: mappings ("key: value", "key:" then a deeper
// block), sequences ("- item", an item that may open a mapping), plain,
// 'single' and "double" quoted scalars, and comments. Anything else (flow
// collections, anchors, multi-line scalars, tabs, a key given twice) is an
// error rather than a guess. Mappings are map[string]any, sequences []any,
// scalars yamlScalar.
func parseYAML(text string) (any, error) {
	var lines []yamlLine
	for i, raw := range strings.Split(text, "\n") {
		if strings.ContainsRune(raw, '\t') {
			return nil, fmt.Errorf("line %d: a tab", i+1)
		}
		content := strings.TrimRight(stripComment(raw), " ")
		if strings.TrimSpace(content) == "" {
			continue
		}
		indent := len(content) - len(strings.TrimLeft(content, " "))
		lines = append(lines, yamlLine{no: i + 1, indent: indent, text: content[indent:]})
	}
	p := &yamlParser{lines: lines}
	if len(lines) == 0 {
		return nil, fmt.Errorf("empty document")
	}
	v, err := p.block(lines[0].indent)
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.lines) {
		return nil, fmt.Errorf("line %d: unexpected indentation", p.lines[p.pos].no)
	}
	return v, nil
}

// yamlScalar is a scalar as written; Quoted says it was in quotes (so
// never a boolean or a number).
type yamlScalar struct {
	Text   string
	Quoted bool
}

type yamlLine struct {
	no, indent int
	text       string
}

type yamlParser struct {
	lines []yamlLine
	pos   int
}

// stripComment removes a comment: a # at the start or after a space,
// outside quotes.
func stripComment(s string) string {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && quote == '"' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || s[i-1] == ' '):
			return s[:i]
		}
	}
	return s
}

// block parses the block whose lines are indented by exactly indent.
func (p *yamlParser) block(indent int) (any, error) {
	first := p.lines[p.pos]
	if first.indent != indent {
		return nil, fmt.Errorf("line %d: indentation %d, want %d", first.no, first.indent, indent)
	}
	if first.text == "-" || strings.HasPrefix(first.text, "- ") {
		return p.sequence(indent)
	}
	return p.mapping(indent)
}

func (p *yamlParser) sequence(indent int) (any, error) {
	var out []any
	for p.pos < len(p.lines) && p.lines[p.pos].indent == indent {
		l := p.lines[p.pos]
		if l.text != "-" && !strings.HasPrefix(l.text, "- ") {
			return nil, fmt.Errorf("line %d: a mapping key among sequence items", l.no)
		}
		rest := strings.TrimLeft(strings.TrimPrefix(l.text, "-"), " ")
		if rest == "" { // the item is the deeper block that follows
			p.pos++
			v, err := p.nested(indent, l.no)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			continue
		}
		if !isEntry(rest) { // a scalar item
			v, err := scalar(rest)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", l.no, err)
			}
			out = append(out, v)
			p.pos++
			continue
		}
		// A mapping starts on this line, at the column of rest: parse it
		// as a block of its own at that indentation.
		col := indent + len(l.text) - len(rest)
		p.lines[p.pos] = yamlLine{no: l.no, indent: col, text: rest}
		v, err := p.block(col)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (p *yamlParser) mapping(indent int) (any, error) {
	out := map[string]any{}
	for p.pos < len(p.lines) && p.lines[p.pos].indent == indent {
		l := p.lines[p.pos]
		if strings.HasPrefix(l.text, "- ") || l.text == "-" {
			return nil, fmt.Errorf("line %d: a sequence item among mapping keys", l.no)
		}
		key, rest, err := splitKey(l.text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", l.no, err)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("line %d: %q given twice", l.no, key)
		}
		p.pos++
		if rest == "" {
			v, err := p.nested(indent, l.no)
			if err != nil {
				return nil, err
			}
			out[key] = v
			continue
		}
		v, err := scalar(rest)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", l.no, err)
		}
		out[key] = v
	}
	return out, nil
}

// nested parses the block after a line (number no) at indent that ends
// in ":" or "-": the following deeper lines, or null when there are none.
// A sequence may sit at the same indentation as its mapping key.
func (p *yamlParser) nested(indent, no int) (any, error) {
	if p.pos >= len(p.lines) {
		return nil, nil
	}
	next := p.lines[p.pos]
	switch {
	case next.indent > indent:
		return p.block(next.indent)
	case next.indent == indent && (next.text == "-" || strings.HasPrefix(next.text, "- ")):
		return p.sequence(indent)
	}
	return nil, nil
}

// isEntry reports whether s is a mapping entry ("key: value" or "key:")
// rather than a scalar.
func isEntry(s string) bool {
	if s[0] == '"' || s[0] == '\'' {
		end := strings.IndexByte(s[1:], s[0])
		return end >= 0 && strings.HasPrefix(s[end+2:], ":")
	}
	return strings.Contains(s, ": ") || strings.HasSuffix(s, ":")
}

// splitKey splits "key: value" (the key plain or quoted).
func splitKey(s string) (key, rest string, err error) {
	if s[0] == '"' || s[0] == '\'' {
		end := strings.IndexByte(s[1:], s[0])
		if end < 0 {
			return "", "", fmt.Errorf("an unterminated quoted key")
		}
		k, err := scalar(s[:end+2])
		if err != nil {
			return "", "", err
		}
		after := s[end+2:]
		if !strings.HasPrefix(after, ":") {
			return "", "", fmt.Errorf("no colon after the key")
		}
		return k.(yamlScalar).Text, strings.TrimSpace(after[1:]), nil
	}
	i := strings.Index(s, ": ")
	if strings.HasSuffix(s, ":") && (i < 0 || i == len(s)-1) {
		i = len(s) - 1
	}
	if i <= 0 {
		return "", "", fmt.Errorf("not a mapping entry: %q", s)
	}
	return s[:i], strings.TrimSpace(s[i+1:]), nil
}

// scalar reads one scalar value.
func scalar(s string) (any, error) {
	switch s[0] {
	case '"':
		v, err := strconv.Unquote(s)
		if err != nil {
			return nil, fmt.Errorf("a malformed double-quoted string %s", s)
		}
		return yamlScalar{Text: v, Quoted: true}, nil
	case '\'':
		if len(s) < 2 || s[len(s)-1] != '\'' {
			return nil, fmt.Errorf("a malformed single-quoted string %s", s)
		}
		return yamlScalar{Text: strings.ReplaceAll(s[1:len(s)-1], "''", "'"), Quoted: true}, nil
	case '[', '{', '&', '*', '|', '>', '!', '%', '@', '`':
		return nil, fmt.Errorf("%q: not in the subset this test reads (flow collections, anchors, tags, block scalars)", s)
	}
	return yamlScalar{Text: s}, nil
}
