-- Identity keys fold ASCII letters only: A-Z become a-z and every other character stays as it
-- is (what SQLite's built-in lower() does). Keys made before folded with Unicode lowercasing,
-- which maps some non-ASCII characters onto ASCII letters (KELVIN SIGN U+212A onto k): two
-- different addresses could share one key, and one person's sign-in find another's account.
--
-- A key can only differ between the two foldings when the text it is made from has a
-- non-ASCII character (more bytes than characters; a Kelvin sign folded to an ASCII key, so
-- the key alone does not tell). Those keys are made again. ASCII-only folding tells more texts
-- apart than Unicode folding did, so no two rows of a connection come to share a key.

-- Email keys: the email trimmed of white space (the characters Rust's str::trim removes),
-- then folded.
UPDATE users SET email_key = lower(trim(email, char(
    9, 10, 11, 12, 13, 32, 133, 160, 5760, 8192, 8193, 8194, 8195, 8196, 8197, 8198, 8199,
    8200, 8201, 8202, 8232, 8233, 8239, 8287, 12288
)))
WHERE octet_length(email) <> length(email);

-- SCIM userName keys: the userName of the resource SCIM wrote.
UPDATE users SET scim_user_name_key = lower(json_extract(scim_resource, '$.userName'))
WHERE scim_user_name_key IS NOT NULL
    AND CASE WHEN json_valid(scim_resource) THEN
        octet_length(json_extract(scim_resource, '$.userName'))
            <> length(json_extract(scim_resource, '$.userName'))
    ELSE 0 END;

-- Group displayName keys belong to groups SCIM wrote, from the displayName of their resource.
-- Groups sync created show their display name column, which a lookup now folds itself (a key
-- copied from it would go stale when sync renames the group).
UPDATE groups SET scim_display_name_key = NULL WHERE scim_resource IS NULL;
UPDATE groups SET scim_display_name_key = lower(json_extract(scim_resource, '$.displayName'))
WHERE scim_display_name_key IS NOT NULL
    AND CASE WHEN json_valid(scim_resource) THEN
        octet_length(json_extract(scim_resource, '$.displayName'))
            <> length(json_extract(scim_resource, '$.displayName'))
    ELSE 0 END;

-- Accounts SCIM never wrote show their user name column (else their email) as userName; a
-- lookup folds the column as it compares it.
DROP INDEX users_connection_user_name;
CREATE INDEX users_connection_user_name_key ON users (connection, lower(user_name))
    WHERE scim_user_name_key IS NULL;
CREATE INDEX groups_connection_display_name_key ON groups (connection, lower(display_name))
    WHERE scim_display_name_key IS NULL;

-- The filter `emails[type eq "work"].value eq "..."` finds every resource with such a work
-- email, which need not be the account's email column (one account per connection holds an
-- address; others keep it in their resource only). Each resource SCIM wrote keeps the folded
-- value of its work emails: the one key, '' when it has several different ones (every
-- lookup checks those), NULL when it has none.
ALTER TABLE users ADD COLUMN scim_work_email_key TEXT;
UPDATE users SET scim_work_email_key = CASE
    -- Resources SCIM writes are JSON objects with an array of emails; anything else is
    -- checked by every lookup.
    WHEN NOT json_valid(scim_resource) THEN ''
    WHEN json_type(scim_resource, '$.emails') IS NULL THEN NULL
    WHEN json_type(scim_resource, '$.emails') <> 'array' THEN ''
    ELSE (
        SELECT CASE count(DISTINCT work.key)
            WHEN 0 THEN NULL WHEN 1 THEN min(work.key) ELSE ''
        END
        FROM (
            SELECT CASE WHEN element.type = 'object' THEN
                CASE WHEN json_type(element.value, '$.type') = 'text'
                    AND json_type(element.value, '$.value') = 'text'
                    AND lower(json_extract(element.value, '$.type')) = 'work'
                THEN lower(json_extract(element.value, '$.value')) END
            END AS key
            FROM json_each(users.scim_resource, '$.emails') AS element
        ) AS work
    )
END
WHERE scim_resource IS NOT NULL;
CREATE INDEX users_connection_scim_work_email_key ON users (connection, scim_work_email_key)
    WHERE scim_work_email_key IS NOT NULL;
