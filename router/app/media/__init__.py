"""Media: fetching Meta's files for inbound messages, the blob store they are kept in (a local
directory or an S3-compatible store), serving them, and the files members send (stored, uploaded
to the number's `/media`, then sent by id).

- kinds.py: the kinds, WhatsApp's size limits and types, what a file's first bytes say it is
- attachment.py: what a message carries besides its text (a file, a location, contacts), as
  stored in `messages.attachment` and as the API shows it
- blobs.py: the blob store (LocalBlobStore, S3BlobStore) and its keys
- graph.py: the Graph API's media calls (the URL lookup, the download, the upload)
- fetch.py: an inbound message's file fetched in its job, checked and stored
- outbound.py: a member's file uploaded once and sent by id
- uploads.py: a file an API caller sends, checked and stored before its message is
- repository.py: the writes and reads of attachments and their keys
- endpoints.py: GET /api/v1/messages/{id}/media
"""
