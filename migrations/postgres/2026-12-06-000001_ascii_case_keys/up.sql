-- Identity keys fold ASCII letters only: A-Z become a-z and every other character stays as it
-- is. PostgreSQL's lower() follows the database's locale and folds non-ASCII letters too, so
-- folding here is a translate() of the 26 letters. Keys made before folded with Unicode
-- lowercasing, which maps some non-ASCII characters onto ASCII letters (KELVIN SIGN U+212A
-- onto k): two different addresses could share one key, and one person's sign-in find
-- another's account.
--
-- A key can only differ between the two foldings when the text it is made from has a
-- non-ASCII character (more bytes than characters; a Kelvin sign folded to an ASCII key, so
-- the key alone does not tell). Those keys are made again. ASCII-only folding tells more texts
-- apart than Unicode folding did, so no two rows of a connection come to share a key.

-- Email keys: the email trimmed of white space (the characters Rust's str::trim removes),
-- then folded.
UPDATE users SET email_key = translate(
    btrim(email, U&'\0009\000A\000B\000C\000D\0020\0085\00A0\1680\2000\2001\2002\2003\2004'
        || U&'\2005\2006\2007\2008\2009\200A\2028\2029\202F\205F\3000'),
    'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'
)
WHERE octet_length(email) <> char_length(email);

-- SCIM userName keys: the userName of the resource SCIM wrote. A resource with a NUL escaped
-- in its JSON (written before SCIM refused NUL characters) cannot be read as JSON here; its
-- key comes from the user name column, which SCIM set from the same userName.
UPDATE users SET scim_user_name_key = translate(
    named.user_name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'
)
FROM (
    SELECT id, CASE WHEN strpos(scim_resource, '\u0000') > 0 THEN user_name
        ELSE scim_resource::json ->> 'userName' END AS user_name
    FROM users WHERE scim_user_name_key IS NOT NULL
) AS named
WHERE users.id = named.id AND octet_length(named.user_name) <> char_length(named.user_name);

-- Group displayName keys belong to groups SCIM wrote, from the displayName of their resource
-- (or the display name column, as above). Groups sync created show their display name column,
-- which a lookup now folds itself (a key copied from it would go stale when sync renames the
-- group).
UPDATE groups SET scim_display_name_key = NULL WHERE scim_resource IS NULL;
UPDATE groups SET scim_display_name_key = translate(
    named.display_name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'
)
FROM (
    SELECT id, CASE WHEN strpos(scim_resource, '\u0000') > 0 THEN display_name
        ELSE scim_resource::json ->> 'displayName' END AS display_name
    FROM groups WHERE scim_display_name_key IS NOT NULL
) AS named
WHERE groups.id = named.id
    AND octet_length(named.display_name) <> char_length(named.display_name);

-- Accounts SCIM never wrote show their user name column (else their email) as userName; a
-- lookup folds the column as it compares it.
DROP INDEX users_connection_user_name;
CREATE INDEX users_connection_user_name_key ON users (
    connection,
    translate(user_name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
) WHERE scim_user_name_key IS NULL;
CREATE INDEX groups_connection_display_name_key ON groups (
    connection,
    translate(display_name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
) WHERE scim_display_name_key IS NULL;

-- The filter `emails[type eq "work"].value eq "..."` finds every resource with such a work
-- email, which need not be the account's email column (one account per connection holds an
-- address; others keep it in their resource only). Each resource SCIM wrote keeps the folded
-- value of its work emails: the one key, '' when it has several different ones (every
-- lookup checks those), NULL when it has none.
ALTER TABLE users ADD COLUMN scim_work_email_key TEXT;
UPDATE users SET scim_work_email_key = CASE
    -- A NUL escaped in the JSON cannot become text here: such a resource is checked by every
    -- lookup, as is one whose emails are not an array (resources SCIM writes have one).
    WHEN strpos(scim_resource, '\u0000') > 0 THEN ''
    WHEN json_typeof(scim_resource::json -> 'emails') IS NULL THEN NULL
    WHEN json_typeof(scim_resource::json -> 'emails') <> 'array' THEN ''
    ELSE (
        SELECT CASE count(DISTINCT work.key)
            WHEN 0 THEN NULL WHEN 1 THEN min(work.key) ELSE ''
        END
        FROM (
            SELECT CASE WHEN json_typeof(element.value) = 'object'
                AND json_typeof(element.value -> 'type') = 'string'
                AND json_typeof(element.value -> 'value') = 'string'
                AND translate(
                    element.value ->> 'type',
                    'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'
                ) = 'work'
            THEN translate(
                element.value ->> 'value',
                'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'
            ) END AS key
            FROM json_array_elements(users.scim_resource::json -> 'emails') AS element (value)
        ) AS work
    )
END
WHERE scim_resource IS NOT NULL;
CREATE INDEX users_connection_scim_work_email_key ON users (connection, scim_work_email_key)
    WHERE scim_work_email_key IS NOT NULL;
