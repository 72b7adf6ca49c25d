//! Just enough reading of QUERY events to follow a stream: transaction
//! control, and which tables a DDL statement truncates, creates, alters,
//! renames or drops. Anything else (GRANT, CREATE USER, views, routines,
//! statements this reader does not know) is [`Statement::Other`]: the
//! stream skips it.

use watershed_events::{ColumnRename, TableName};

/// What a QUERY event's statement does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Statement {
    Begin,
    Commit,
    Rollback,
    /// `XA …`: two-phase transactions are not followed yet.
    Xa,
    Truncate(TableName),
    /// A row change logged as a statement (a session not in ROW format):
    /// the tables it writes, as far as they can be read.
    Dml(Vec<TableName>),
    /// The shape of these tables changed (created, altered, renamed to,
    /// indexed); `gone` lists tables renamed away or dropped.
    Ddl {
        changed: Vec<TableName>,
        gone: Vec<TableName>,
        /// Columns an `ALTER TABLE` renamed (`RENAME COLUMN a TO b`,
        /// `CHANGE a b …`), in statement order.
        renamed_columns: Vec<ColumnRename>,
    },
    /// DDL on tables (ALTER, CREATE, DROP, RENAME, TRUNCATE) this reader
    /// could not follow; `mentions` are the table names it may concern.
    Unreadable {
        mentions: Vec<TableName>,
    },
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Punct(char),
}

impl Token {
    fn is(&self, keyword: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(keyword))
    }
}

/// Classifies `query`; unqualified table names belong to `default_db`.
pub(crate) fn classify(query: &str, default_db: &str) -> Statement {
    let tokens = tokenize(query);
    let mut p = Parser {
        tokens: &tokens,
        at: 0,
        default_db,
    };
    p.statement()
        .unwrap_or_else(|| unreadable(&tokens, default_db))
}

const TABLE_DDL: [&str; 5] = ["ALTER", "CREATE", "DROP", "RENAME", "TRUNCATE"];

/// A statement that failed to parse: other statements are skipped, table
/// DDL lists every name it could refer to (`a.b` pairs and bare names).
fn unreadable(tokens: &[Token], default_db: &str) -> Statement {
    if !tokens
        .first()
        .is_some_and(|t| TABLE_DDL.iter().any(|k| t.is(k)))
    {
        return Statement::Other;
    }
    let name = |t: &Token| match t {
        Token::Word(w) | Token::Quoted(w) => Some(w.clone()),
        Token::Punct(_) => None,
    };
    let mut mentions = Vec::new();
    for (i, token) in tokens.iter().enumerate().skip(1) {
        let Some(first) = name(token) else { continue };
        mentions.push(TableName::new(Some(default_db), &first));
        if tokens.get(i + 1) == Some(&Token::Punct('.'))
            && let Some(second) = tokens.get(i + 2).and_then(name)
        {
            mentions.push(TableName::new(Some(&first), &second));
        }
    }
    if mentions.is_empty() {
        return Statement::Other;
    }
    Statement::Unreadable { mentions }
}

struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
    default_db: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, keyword: &str) -> bool {
        let hit = self.peek().is_some_and(|t| t.is(keyword));
        self.at += usize::from(hit);
        hit
    }

    fn eat_punct(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(&Token::Punct(c));
        self.at += usize::from(hit);
        hit
    }

    fn skip_words(&mut self, words: &[&str]) {
        while words.iter().any(|w| self.eat(w)) {}
    }

    fn statement(&mut self) -> Option<Statement> {
        let first = self.peek()?.clone();
        self.at += 1;
        let word = |w: &str| first.is(w);
        Some(if word("BEGIN") {
            Statement::Begin
        } else if word("COMMIT") {
            Statement::Commit
        } else if word("ROLLBACK") {
            // `ROLLBACK TO savepoint` stays inside the transaction.
            if self.peek().is_some_and(|t| t.is("TO")) {
                Statement::Other
            } else {
                Statement::Rollback
            }
        } else if word("XA") {
            Statement::Xa
        } else if word("TRUNCATE") {
            self.eat("TABLE");
            Statement::Truncate(self.table_name()?)
        } else if word("CREATE") {
            self.create()?
        } else if word("ALTER") {
            self.alter()?
        } else if word("DROP") {
            self.drop()?
        } else if word("RENAME") {
            self.rename()?
        } else if word("INSERT") || word("REPLACE") {
            self.skip_words(&["LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE", "INTO"]);
            Statement::Dml(vec![self.table_name()?])
        } else if word("UPDATE") {
            self.skip_words(&["LOW_PRIORITY", "IGNORE"]);
            Statement::Dml(vec![self.table_name()?])
        } else if word("DELETE") {
            self.delete()?
        } else if word("LOAD") {
            while !self.eat("TABLE") {
                self.peek()?;
                self.at += 1;
            }
            Statement::Dml(vec![self.table_name()?])
        } else {
            Statement::Other
        })
    }

    /// `DELETE FROM t` alone is how MariaDB logs a MEMORY table emptied by
    /// a restart: a truncate. Other deletes logged as statements are DML.
    fn delete(&mut self) -> Option<Statement> {
        self.skip_words(&["LOW_PRIORITY", "QUICK", "IGNORE"]);
        while !self.eat("FROM") {
            self.peek()?;
            self.at += 1;
        }
        let table = self.table_name()?;
        if self.peek().is_none() {
            return Some(Statement::Truncate(table));
        }
        Some(Statement::Dml(vec![table]))
    }

    fn create(&mut self) -> Option<Statement> {
        self.skip_words(&[
            "OR", "REPLACE", "UNIQUE", "FULLTEXT", "SPATIAL", "ONLINE", "OFFLINE",
        ]);
        if self.eat("TEMPORARY") {
            // Temporary tables are not replicated in row format.
            return Some(Statement::Other);
        }
        if self.eat("TABLE") {
            self.skip_words(&["IF", "NOT", "EXISTS"]);
            return Some(changed(vec![self.table_name()?]));
        }
        if self.eat("INDEX") {
            return self.index_on();
        }
        Some(Statement::Other)
    }

    /// `… ON table`, after `CREATE INDEX` or `DROP INDEX`.
    fn index_on(&mut self) -> Option<Statement> {
        while !self.eat("ON") {
            self.peek()?;
            self.at += 1;
        }
        Some(changed(vec![self.table_name()?]))
    }

    fn alter(&mut self) -> Option<Statement> {
        self.skip_words(&["ONLINE", "OFFLINE", "IGNORE"]);
        if !self.eat("TABLE") {
            return Some(Statement::Other);
        }
        self.skip_words(&["IF", "EXISTS"]);
        let table = self.table_name()?;
        // `ALTER TABLE a …, RENAME [TO|AS] b` moves the table.
        let mut depth = 0usize;
        let mut renamed_columns = Vec::new();
        while let Some(token) = self.peek().cloned() {
            self.at += 1;
            match token {
                Token::Punct('(') => depth += 1,
                Token::Punct(')') => depth = depth.saturating_sub(1),
                t if depth == 0 && t.is("CHANGE") => {
                    self.eat("COLUMN");
                    self.skip_words(&["IF", "EXISTS"]);
                    let from = self.identifier()?;
                    let to = self.identifier()?;
                    if from != to {
                        renamed_columns.push(ColumnRename { from, to });
                    }
                }
                t if depth == 0 && t.is("RENAME") => {
                    if self.eat("COLUMN") {
                        let from = self.identifier()?;
                        self.eat("TO").then_some(())?;
                        let to = self.identifier()?;
                        renamed_columns.push(ColumnRename { from, to });
                        continue;
                    }
                    if self.eat("INDEX") || self.eat("KEY") {
                        continue;
                    }
                    self.eat("TO");
                    self.eat("AS");
                    let to = self.table_name()?;
                    return Some(Statement::Ddl {
                        changed: vec![to],
                        gone: vec![table],
                        renamed_columns,
                    });
                }
                _ => {}
            }
        }
        Some(Statement::Ddl {
            changed: vec![table],
            gone: Vec::new(),
            renamed_columns,
        })
    }

    fn drop(&mut self) -> Option<Statement> {
        if self.eat("TEMPORARY") {
            return Some(Statement::Other);
        }
        if self.eat("INDEX") {
            self.eat("IF");
            self.eat("EXISTS");
            return self.index_on();
        }
        if !self.eat("TABLE") {
            return Some(Statement::Other);
        }
        self.skip_words(&["IF", "EXISTS"]);
        let mut gone = vec![self.table_name()?];
        while self.eat_punct(',') {
            gone.push(self.table_name()?);
        }
        Some(Statement::Ddl {
            changed: Vec::new(),
            gone,
            renamed_columns: Vec::new(),
        })
    }

    fn rename(&mut self) -> Option<Statement> {
        if !self.eat("TABLE") {
            return Some(Statement::Other);
        }
        self.skip_words(&["IF", "EXISTS"]);
        let (mut changed, mut gone) = (Vec::new(), Vec::new());
        loop {
            gone.push(self.table_name()?);
            self.skip_words(&["WAIT", "NOWAIT"]);
            if !self.eat("TO") {
                return None;
            }
            changed.push(self.table_name()?);
            if !self.eat_punct(',') {
                return Some(Statement::Ddl {
                    changed,
                    gone,
                    renamed_columns: Vec::new(),
                });
            }
        }
    }

    /// `name` or `db.name`, bare or backquoted.
    fn table_name(&mut self) -> Option<TableName> {
        let first = self.identifier()?;
        if self.eat_punct('.') {
            let second = self.identifier()?;
            return Some(TableName::new(Some(&first), &second));
        }
        Some(TableName::new(Some(self.default_db), &first))
    }

    fn identifier(&mut self) -> Option<String> {
        let name = match self.peek()? {
            Token::Word(w) | Token::Quoted(w) => w.clone(),
            Token::Punct(_) => return None,
        };
        self.at += 1;
        Some(name)
    }
}

fn changed(tables: Vec<TableName>) -> Statement {
    Statement::Ddl {
        changed: tables,
        gone: Vec::new(),
        renamed_columns: Vec::new(),
    }
}

/// Words, backquoted identifiers and punctuation; comments, string
/// literals and whitespace dropped. Executable comments (`/*!50100 …*/`,
/// `/*M!… */`) count as code.
fn tokenize(query: &str) -> Vec<Token> {
    let chars: Vec<char> = query.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            _ if c.is_whitespace() => i += 1,
            '/' if next == Some('*') => {
                let executable = matches!(chars.get(i + 2), Some('!' | 'M'));
                if executable {
                    i += 2;
                    while i < chars.len()
                        && (chars[i] == '!' || chars[i] == 'M' || chars[i].is_ascii_digit())
                    {
                        i += 1;
                    }
                } else {
                    i = find_from(&chars, i + 2, "*/").map_or(chars.len(), |end| end + 2);
                }
            }
            '*' if next == Some('/') => i += 2,
            '#' => i = find_from(&chars, i, "\n").unwrap_or(chars.len()),
            '-' if next == Some('-') && chars.get(i + 2).is_none_or(|c| c.is_whitespace()) => {
                i = find_from(&chars, i, "\n").unwrap_or(chars.len());
            }
            '`' => {
                let (name, end) = quoted(&chars, i, '`');
                tokens.push(Token::Quoted(name));
                i = end;
            }
            '\'' | '"' => i = quoted(&chars, i, c).1,
            _ if c.is_alphanumeric() || c == '_' || c == '$' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '$'))
                {
                    i += 1;
                }
                tokens.push(Token::Word(chars[start..i].iter().collect()));
            }
            _ => {
                tokens.push(Token::Punct(c));
                i += 1;
            }
        }
    }
    tokens
}

fn find_from(chars: &[char], from: usize, needle: &str) -> Option<usize> {
    let needle: Vec<char> = needle.chars().collect();
    (from..chars.len()).find(|&i| chars[i..].starts_with(&needle))
}

/// Reads a quoted run starting at `start` (doubled quotes and, outside
/// backquotes, backslashes escape); returns its text and the index after.
fn quoted(chars: &[char], start: usize, quote: char) -> (String, usize) {
    let mut text = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && quote != '`' {
            if let Some(&escaped) = chars.get(i + 1) {
                text.push(escaped);
            }
            i += 2;
        } else if c == quote && chars.get(i + 1) == Some(&quote) {
            text.push(quote);
            i += 2;
        } else if c == quote {
            return (text, i + 1);
        } else {
            text.push(c);
            i += 1;
        }
    }
    (text, i)
}

#[cfg(test)]
#[path = "ddl_tests.rs"]
mod tests;
