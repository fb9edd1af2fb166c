-- Reserved for 0005_principals (filled by the change that needs it).
SELECT 1;
