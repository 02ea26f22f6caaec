//! `multipart/form-data` bodies (RFC 7578), as Lever's create-opportunity endpoint takes
//! them when a resume file comes along.

/// A body under construction.
#[derive(Debug, Clone)]
pub struct Form {
    boundary: String,
    body: Vec<u8>,
}

fn quoted(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            '"' => "%22".to_string(),
            '\r' => "%0D".to_string(),
            '\n' => "%0A".to_string(),
            c => c.to_string(),
        })
        .collect()
}

impl Form {
    /// An empty form whose boundary is derived from `entropy` (random bytes): it must not
    /// occur in any part, which a random 32-hex-digit boundary makes vanishingly unlikely.
    pub fn new(entropy: &[u8]) -> Self {
        Self {
            boundary: format!("lever-connector-{}", hex::encode(entropy)),
            body: Vec::new(),
        }
    }

    fn open(&mut self, disposition: &str, content_type: Option<&str>) {
        self.body.extend_from_slice(b"--");
        self.body.extend_from_slice(self.boundary.as_bytes());
        self.body
            .extend_from_slice(b"\r\ncontent-disposition: form-data; ");
        self.body.extend_from_slice(disposition.as_bytes());
        if let Some(content_type) = content_type {
            self.body.extend_from_slice(b"\r\ncontent-type: ");
            self.body.extend_from_slice(content_type.as_bytes());
        }
        self.body.extend_from_slice(b"\r\n\r\n");
    }

    /// Adds a text field.
    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.open(&format!("name=\"{}\"", quoted(name)), None);
        self.body.extend_from_slice(value.as_bytes());
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// Adds a file.
    pub fn file(mut self, name: &str, file_name: &str, content_type: &str, bytes: &[u8]) -> Self {
        self.open(
            &format!(
                "name=\"{}\"; filename=\"{}\"",
                quoted(name),
                quoted(file_name)
            ),
            Some(content_type),
        );
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// The `content-type` header value and the body.
    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body.extend_from_slice(b"--");
        self.body.extend_from_slice(self.boundary.as_bytes());
        self.body.extend_from_slice(b"--\r\n");
        (
            format!("multipart/form-data; boundary={}", self.boundary),
            self.body,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_files_are_framed_by_the_boundary() {
        let (content_type, body) = Form::new(&[0xab; 4])
            .text("emails[]", "ada@example.com")
            .file("resumeFile", "cv \"1\".pdf", "application/pdf", b"%PDF")
            .finish();
        assert_eq!(
            content_type,
            "multipart/form-data; boundary=lever-connector-abababab"
        );
        let text = String::from_utf8(body).unwrap();
        assert_eq!(
            text,
            "--lever-connector-abababab\r\ncontent-disposition: form-data; name=\"emails[]\"\r\n\r\nada@example.com\r\n\
             --lever-connector-abababab\r\ncontent-disposition: form-data; name=\"resumeFile\"; filename=\"cv %221%22.pdf\"\r\ncontent-type: application/pdf\r\n\r\n%PDF\r\n\
             --lever-connector-abababab--\r\n"
        );
    }
}
