<?php
$dolibarr_main_url_root='http://localhost/erp';
$dolibarr_main_document_root='/var/www/erp/htdocs';
$dolibarr_main_data_root = '/var/lib/dolibarr/documents';
$dolibarr_main_db_host='localhost';
