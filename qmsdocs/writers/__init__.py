"""What both writers know about a document, the Markdown writer and the DOCX writer."""
